"""KPIs: definitions, targets and figures over a period (DOMAIN.md §6)."""
