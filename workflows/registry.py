"""Every workflow type the worker runs (and the replayer checks)."""

from workflows.approvals import ApprovalWorkflow
from workflows.callbacks import CustomerCallbackWorkflow
from workflows.incidents import IncidentWorkflow
from workflows.journal_anchor import JournalAnchorWorkflow
from workflows.messages import MessageThreadWorkflow
from workflows.outbox import OutboxDispatcherWorkflow
from workflows.presales import PreSalesDemandWorkflow
from workflows.provisioning import ProvisioningOrderWorkflow
from workflows.quality import QualityInspectionWorkflow
from workflows.reports import QuarterlyReportWorkflow, ReportObligationWorkflow, ReportSchedulerWorkflow
from workflows.resource_checks import ResourceCheckWorkflow
from workflows.tickets import ServiceTicketWorkflow

ALL_WORKFLOWS = [
    ApprovalWorkflow,
    ServiceTicketWorkflow,
    ResourceCheckWorkflow,
    ProvisioningOrderWorkflow,
    PreSalesDemandWorkflow,
    JournalAnchorWorkflow,
    OutboxDispatcherWorkflow,
    QualityInspectionWorkflow,
    MessageThreadWorkflow,
    IncidentWorkflow,
    ReportObligationWorkflow,
    QuarterlyReportWorkflow,
    ReportSchedulerWorkflow,
    CustomerCallbackWorkflow,
]
