"""cdk-nag acknowledgements: every one names its rule and says why."""

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

# (construct path, rule, reason) for every acknowledgement made, so a test and
# docs/well-architected.md can count and list them.
ACKNOWLEDGED: list[tuple[str, str, str]] = []


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge an AwsSolutions finding on `scope` (and what it contains)."""
    if len(reason.strip()) < 20:
        raise ValueError(f"{rule} on {scope.node.path}: give a real reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
    ACKNOWLEDGED.append((scope.node.path, rule, reason))
