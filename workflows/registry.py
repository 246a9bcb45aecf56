"""Every workflow type the worker runs (and the replayer checks)."""

from workflows.approval import ApprovalWorkflow
from workflows.presales import PreSalesDemandWorkflow
from workflows.provisioning import ProvisioningOrderWorkflow
from workflows.resource_check import ResourceCheckWorkflow
from workflows.service_ticket import ServiceTicketWorkflow

ALL_WORKFLOWS = [
    ApprovalWorkflow,
    ServiceTicketWorkflow,
    ResourceCheckWorkflow,
    ProvisioningOrderWorkflow,
    PreSalesDemandWorkflow,
]
