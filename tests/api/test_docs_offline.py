"""`/docs` and `/redoc` need no network: every asset their pages reference is served by the app itself."""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|specUrl|openapi_url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_and_every_asset_come_from_the_app(http, page):
    response = await http.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    references = {a or b for a, b in ASSET.findall(response.text)}
    assert references, "the page references no assets"
    external = sorted(r for r in references if re.match(r"^(https?:)?//", r))
    assert external == [], f"{page} loads from the network: {external}"
    for reference in sorted(references):
        asset = await http.get(reference)
        assert asset.status_code == 200, (reference, asset.status_code)
        assert asset.content, reference
    assert "/openapi.json" in references


async def test_vendored_files_ship_with_their_licences(http):
    for path in ("/docs-assets/swagger-ui/LICENSE", "/docs-assets/redoc/LICENSE"):
        response = await http.get(path)
        assert response.status_code == 200 and "licen" in response.text.lower(), path
