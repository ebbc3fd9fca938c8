"""Suite-wide rules."""
import os

import pytest

# In CI every system component is installed by .ci/run, so a test that skips for want of one
# (bubblewrap, chromium, Graphviz, a CJK font) is a failure there, not a quiet pass.
ALLOWED_SKIPS_IN_CI = ("CUDA",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(word in reason for word in ALLOWED_SKIPS_IN_CI):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where .ci/run installs everything the tests need: {reason}"
