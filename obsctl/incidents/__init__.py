"""The incident log shared by the analyzer, the ChatOps bot and the reports."""

from obsctl.incidents.store import AuditEntry, Incident, IncidentStore, NewAlert

__all__ = ["AuditEntry", "Incident", "IncidentStore", "NewAlert"]
