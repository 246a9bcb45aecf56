"""Every workflow type the worker runs (and the replayer checks)."""

from workflows.approval import ApprovalWorkflow

ALL_WORKFLOWS = [ApprovalWorkflow]
