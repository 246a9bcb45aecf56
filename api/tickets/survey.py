"""The customer's satisfaction survey: no login, only the unguessable token in the link; nothing identifies anyone."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import col

from api.acts import Subject, deliver
from api.deps import DbDep, GatewayDep, SessionDep
from core.tickets import CUSTOMER, ActOutcome, CustomerFeedback, Rating
from db.models import Survey, utcnow
from db.surveys import token_hash

router = APIRouter(prefix="/api/survey", tags=["survey"])

Token = Annotated[str, Path(min_length=16, max_length=128, description="the secret from the survey link")]


class Question(BaseModel):
    """One survey question."""

    name: str
    kind: Literal["yes_no", "choice", "text"]
    text: str
    choices: list[str] = []
    required: bool = True


QUESTIONS = [
    Question(name="resolved", kind="yes_no", text="您的问题解决了吗？ Was your problem resolved?"),
    Question(
        name="rating",
        kind="choice",
        choices=[r.value for r in Rating],
        text="您对本次服务满意吗？ How satisfied are you with our service?",
    ),
    Question(
        name="comment", kind="text", required=False, text="其他意见或建议 Anything else you would like to tell us?"
    ),
]


class SurveyView(BaseModel):
    """The questions, and whether they were answered (no ticket number, no customer data)."""

    answered: bool
    questions: list[Question] = QUESTIONS


class SurveyAnswer(BaseModel):
    """The customer's answer."""

    resolved: bool
    rating: Rating
    comment: str = Field(default="", max_length=2000)


@router.get("/{token}", response_model=SurveyView, summary="The survey behind a link (no login)")
async def show_survey(token: Token, session: SessionDep) -> SurveyView:
    """The questions; 404 for a token that was never issued."""
    survey = await session.get(Survey, token_hash(token))
    if survey is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such survey")
    return SurveyView(answered=survey.answered_at is not None)


@router.post("/{token}", response_model=SurveyView, summary="Answer the survey (no login)")
async def answer_survey(
    token: Token, body: SurveyAnswer, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> SurveyView:
    """Send the answer to the ticket as the anonymous customer; a survey is answered once (409 after)."""
    digest = token_hash(token)
    # Claim the survey first: a concurrent second answer waits on the row, then finds it answered.
    claimed = (
        await session.execute(
            update(Survey)
            .where(col(Survey.token_hash) == digest, col(Survey.answered_at).is_(None))
            .values(answered_at=utcnow())
            .returning(col(Survey.workflow_id), col(Survey.ticket_no))
        )
    ).first()
    if claimed is None:
        known = await session.get(Survey, digest)
        raise HTTPException(
            *(
                (status.HTTP_409_CONFLICT, "this survey was already answered")
                if known
                else (status.HTTP_404_NOT_FOUND, "no such survey")
            )
        )
    workflow_id, ticket_no = claimed
    try:
        await deliver(
            gateway=gateway,
            db=db,
            session=session,
            actor=CUSTOMER,
            action="ticket.customer_feedback",
            update="act",
            subject=Subject(type="ticket", id=ticket_no, workflow_id=workflow_id),
            result_type=ActOutcome,
            request_id=f"survey:{digest}",
            build=lambda rid: CustomerFeedback(
                request_id=rid, actor=CUSTOMER, resolved=body.resolved, rating=body.rating, comment=body.comment
            ),
        )
    except BaseException:
        await session.rollback()  # refused or unavailable: the survey stays open
        raise
    await session.commit()
    return SurveyView(answered=True)
