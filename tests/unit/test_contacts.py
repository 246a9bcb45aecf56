"""Contact details masked alike in the contact field and in free text: mobiles, landlines, e-mail addresses."""

from __future__ import annotations

import pytest

from core.contacts import contact_texts, mask_contacts, mask_contacts_in, masked_contact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("请回电 13812345678 谢谢", "请回电 138****5678 谢谢"),
        ("手机138-1234-5678", "手机138******5678"),
        ("tel +86 139 1234 5678.", "tel +86**********5678."),
        ("座机010-12345678转人工", "座机010*****5678转人工"),
        ("座机 (0755) 8123456", "座机 (07*******3456"),
        ("0571 87654321", "057******4321"),
        ("mail zhang.san@example.com.cn now", "mail z***@example.com.cn now"),
        ("13812345678@qq.com", "1***@qq.com"),
        ("联系人张三，电话13800001111，邮箱a@b.cn", "联系人张三，电话138****1111，邮箱a***@b.cn"),
    ],
)
def test_contact_patterns_in_free_text_are_masked(text, shown):
    assert mask_contacts(text) == shown
    assert mask_contacts(shown) == shown  # masking what is already masked changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "ticket CS202405200001",  # ticket numbers
        "order PS20240520ABC123 and RC20240520A1B2C3",
        "2026-12-02T08:35:00+08:00",
        "带宽 1000M，金额 12345678.90 元，电路 12345678901234",  # a longer run of digits is no phone number
        "光模块 SFP-10G-LR 更换 2 块",
        "user engineer1 at dept-01",
        "approval-560f4d982d314f86a0961381234567841a5b:approval:1",  # a hex id holding a mobile-like run of digits
    ],
)
def test_identifiers_dates_and_amounts_stay(text):
    assert mask_contacts(text) == text


def test_the_contact_field_and_free_text_mask_a_phone_alike():
    assert masked_contact("13812345678") == mask_contacts("13812345678") == "138****5678"
    assert masked_contact("zhang@example.com") == mask_contacts("zhang@example.com") == "z***@example.com"


def test_json_values_are_masked_everywhere_and_the_reveal_finds_what_was_masked():
    value = {"description": "call 13812345678", "note": [{"text": "ok"}, {"text": "mail li@example.com"}], "n": 3}
    assert mask_contacts_in(value) == {
        "description": "call 138****5678",
        "note": [{"text": "ok"}, {"text": "mail l***@example.com"}],
        "n": 3,
    }
    assert dict(contact_texts(value)) == {"description": "call 13812345678", "note[1].text": "mail li@example.com"}
