"""Every activity's failure policy, in one interceptor the worker installs for all of them.

Bad data fails the same way on every attempt, so a database refusal of the data (DataError, a violated
constraint) or a payload that does not validate is made non-retryable at once: the workflow sees a failure it
can report instead of an activity retried forever. Failure messages name the error class and the statement,
never the statement's parameters (they may hold a customer's name and phone number). An activity still failing
at its third attempt raises an in-app alert to the admins, once per activity.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.roles import Role
from db.models import Notification
from db.session import Database

log = logging.getLogger("kexiang.activities")

DETERMINISTIC_FAILURES = (DataError, IntegrityError, ValidationError)
ALERT_AT_ATTEMPT = 3
ALERT_KIND = "activity_alert"
_STATEMENT_CHARS = 200


def describe_failure(err: BaseException) -> str:
    """A failure's class and what failed, without any value it carried."""
    if isinstance(err, StatementError):
        cause = type(err.orig).__name__ if err.orig is not None else "unknown"
        statement = " ".join((err.statement or "").split())[:_STATEMENT_CHARS]
        return f"{type(err).__name__} ({cause}) in: {statement}"
    if isinstance(err, ValidationError):
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(root)" for e in err.errors()})
        return f"ValidationError of {err.title}: {', '.join(fields)}"
    return type(err).__name__


def alert_key(info: activity.Info) -> str:
    """The idempotency key of the one alert an activity raises."""
    return f"activity-alert:{info.workflow_id}:{info.activity_id}"[:300]


class ActivityFailureInterceptor(Interceptor):
    """Installs the failure policy on every activity of the worker."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap the activity chain."""
        return _FailurePolicy(next, self._db)


class _FailurePolicy(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, db: Database) -> None:
        super().__init__(next)
        self._db = db

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except DETERMINISTIC_FAILURES as err:
            # `from None`: the original exception (its message lists the parameters) stays out of history and logs.
            raise ApplicationError(describe_failure(err), type=type(err).__name__, non_retryable=True) from None
        except Exception as err:
            info = activity.info()
            final = isinstance(err, ApplicationError) and err.non_retryable
            if info.attempt >= ALERT_AT_ATTEMPT and not final:
                await self._alert(info, err)
            raise

    async def _alert(self, info: activity.Info, err: BaseException) -> None:
        """Tell the admins (in-app) that an activity keeps failing; best effort, the retry goes on regardless."""
        message = (
            f"activity {info.activity_type} of workflow {info.workflow_id} is still failing at attempt "
            f"{info.attempt}: {type(err).__name__}"
        )
        try:
            async with self._db.session() as session:
                await session.execute(
                    insert(Notification)
                    .values(
                        key=alert_key(info),
                        recipient_role=Role.ADMIN.value,
                        kind=ALERT_KIND,
                        workflow_id=(info.workflow_id or "")[:200] or None,
                        message=message[:1000],
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                await session.commit()
        except Exception as alert_err:  # the database may be the very thing that is down
            log.warning("could not record the alert for %s: %s", info.activity_type, type(alert_err).__name__)
        log.warning(message)
