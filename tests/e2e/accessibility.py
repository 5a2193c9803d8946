"""axe-core in the browser tests: `assert_accessible(page)` fails on any serious or critical violation.

axe-core comes bundled in `axe-playwright-python` (no npm, no CDN). Playwright's `evaluate` runs it outside
the page's Content-Security-Policy, so the pages are checked exactly as served.
"""

from axe_playwright_python.sync_playwright import Axe

# Moderate and minor findings (a missing landmark, a heading level skipped) are worth a look, but only these two
# stop a screen-reader or keyboard user, so only they fail a test.
BLOCKING = ("critical", "serious")

_axe = Axe()


def violations(page, *, impacts=BLOCKING) -> list[dict]:
    """axe-core's violations on the page as it is now (open folds included), of the given impacts."""
    results = _axe.run(page, options={"resultTypes": ["violations"]})
    return [violation for violation in results.response["violations"] if violation["impact"] in impacts]


def report(found: list[dict], where: str = "") -> str:
    """One line per rule (id, impact, what it asks) and one per offending element (its selector)."""
    lines = []
    for violation in found:
        lines.append(f"{where}{violation['id']} ({violation['impact']}): {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " >> ".join(" ".join(part) if isinstance(part, list) else part for part in node["target"])
            lines.append(f"    {target}    {node['html'][:160]}")
    return "\n".join(lines)


def assert_accessible(page, *, what: str = "") -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    found = violations(page)
    where = f"{what or page.url} @ {page.viewport_size['width']}px: " if page.viewport_size else f"{what or page.url}: "
    assert not found, "\n" + report(found, where)
