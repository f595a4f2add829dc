"""The README's CloudFront cache rules and the distribution agree."""

import re
from pathlib import Path

import pytest

from tests.infra.test_stacks import (
    CACHING_DISABLED,
    YEAR,
    behaviours,
    cache_policy,
)

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_cache_rules() -> tuple[list[str], list[str]]:
    """(cached paths, never-cached paths) from the README's Deployment section."""
    text = README.read_text()
    deployment = text[text.index("## Deployment") :]
    bullet = re.search(
        r"\*\*CloudFront\*\*(.*?)(?=\n- \*\*|\n## |\Z)", deployment, re.S
    )
    assert bullet, "the README's Deployment section lost its CloudFront bullet"
    rules = " ".join(bullet[1].split())
    cached = re.search(r"key cache behaviours on (.*?); never cache", rules)
    never = re.search(r"never cache (.*?)\.(\s|$)", rules)
    assert cached and never, rules
    paths = re.compile(r"`(/[^`]*)`")
    return paths.findall(cached[1]), paths.findall(never[1])


def test_readme_lists_both_kinds_of_paths():
    cached, never = readme_cache_rules()
    assert "/static/*" in cached and "/cart/*" in never
    assert not set(cached) & set(never)


def test_every_readme_cached_path_has_a_caching_behaviour(synth):
    cached, _ = readme_cache_rules()
    found = behaviours(synth)
    for path in cached:
        assert path in found, f"README caches {path}; CloudFront has no behaviour"
        policy = cache_policy(synth, found[path])
        assert "managed" not in policy, path
        assert policy["MaxTTL"] > 0, path
        if path in ("/static/*", "/media/*"):
            assert policy["MinTTL"] == YEAR, path


def test_every_readme_never_cached_path_is_not_cached(synth):
    _, never = readme_cache_rules()
    found = behaviours(synth)
    for path in never:
        assert path in found, f"README never caches {path}; CloudFront has no behaviour"
        assert found[path]["CachePolicyId"] == CACHING_DISABLED, path
