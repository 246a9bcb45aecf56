"""Business calendars and SLA policies as versioned, admin-edited data."""

from api.platform.versioned import versioned_router
from core.calendar import BusinessCalendar
from core.provisioning import ProvisioningRules
from core.sla import SlaPolicy
from core.tickets import AssignmentRules
from db.models import AssignmentRulesVersion, CalendarVersion, ProvisioningRulesVersion, SlaPolicyVersion

calendars = versioned_router(
    prefix="/api/calendars", tag="calendars", table=CalendarVersion, model=BusinessCalendar, noun="calendar"
)
assignment_rules = versioned_router(
    prefix="/api/assignment-rules",
    tag="assignment-rules",
    table=AssignmentRulesVersion,
    model=AssignmentRules,
    noun="assignment rules",
)
sla_policies = versioned_router(
    prefix="/api/sla-policies", tag="sla-policies", table=SlaPolicyVersion, model=SlaPolicy, noun="SLA policy"
)
provisioning_rules = versioned_router(
    prefix="/api/provisioning-rules",
    tag="provisioning-rules",
    table=ProvisioningRulesVersion,
    model=ProvisioningRules,
    noun="provisioning rules",
)
