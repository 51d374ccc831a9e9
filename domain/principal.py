"""Who is asking: the authenticated side of a request, as the gateway resolved it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    credential_id: str
    name: str
    role: str
    scope: str  # region prefix; "" is the national scope
    fields: frozenset[str] | None = None  # a partner credential's allow-list, narrowing policy
    documents: frozenset[str] | None = None  # trusted document ids, when the credential is bound
    department: str | None = None  # a partner credential's department (domain/verification.py)

    @property
    def scope_label(self) -> str:
        return self.scope or "*"
