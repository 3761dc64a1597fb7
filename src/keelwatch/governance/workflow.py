"""The approval workflow of base images: states, allowed transitions, who may make them.

    candidate -> approved -> deprecated -> revoked
    candidate -> rejected
    deprecated -> approved   (reinstated)
    approved -> revoked      (emergency)
    rejected -> candidate    (resubmitted after changes)

Only members of the expert team may approve, reject, deprecate, revoke or
reinstate. Until the service adds tokens, the actor and their team come from
the local configuration (`[identity]` in config.toml); the rule is enforced the
same way then and now. Approval pins a digest: a new digest under the same tag
is registered as a new candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from keelwatch.errors import KeelwatchError

CANDIDATE = "candidate"
APPROVED = "approved"
DEPRECATED = "deprecated"
REVOKED = "revoked"
REJECTED = "rejected"
STATES = (CANDIDATE, APPROVED, DEPRECATED, REVOKED, REJECTED)

# action -> (allowed from-states, to-state)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({CANDIDATE, DEPRECATED}), APPROVED),
    "reject": (frozenset({CANDIDATE}), REJECTED),
    "deprecate": (frozenset({APPROVED}), DEPRECATED),
    "revoke": (frozenset({APPROVED, DEPRECATED}), REVOKED),
    "resubmit": (frozenset({REJECTED}), CANDIDATE),
}
EXPERT_ONLY = frozenset({"approve", "reject", "deprecate", "revoke"})


class WorkflowError(KeelwatchError):
    """A transition that is not allowed from the current state."""


class PermissionDenied(KeelwatchError):
    """The actor's team may not make this change."""


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    team: str

    @property
    def known(self) -> bool:
        return bool(self.name and self.team)


def next_state(action: str, current: str) -> str:
    """The state after `action`, or WorkflowError saying what is allowed instead."""
    if action not in ACTIONS:
        raise WorkflowError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    allowed, target = ACTIONS[action]
    if current not in allowed:
        options = [a for a, (frm, _) in ACTIONS.items() if current in frm]
        hint = f"; from {current} you can: {', '.join(options)}" if options else f"; {current} is final"
        raise WorkflowError(f"cannot {action} a base image that is {current}{hint}")
    return target


def check_permission(action: str, actor: Actor, expert_team: str) -> None:
    if not actor.known:
        raise PermissionDenied(
            "no actor configured: set [identity] actor and team in config.toml "
            "(or KEELWATCH_ACTOR / KEELWATCH_TEAM)"
        )
    if action in EXPERT_ONLY and actor.team != expert_team:
        raise PermissionDenied(
            f"{actor.name} (team {actor.team}) may not {action}: only the expert team {expert_team!r} may"
        )
