"""The diagnosis codes of a failed gradcoach check, for the grader's class report.

A ``GradcoachAssertionError`` carries ``codes`` (the message-catalogue keys of its diagnoses) and
``label``. :func:`install` registers an IPython custom exception handler for it that shows the
traceback exactly as IPython would (the student's error output is unchanged, and nbgrader still
scores the cell by it) and then publishes a ``display_data`` of the private mimetype :data:`MIME`
with the codes. The grader reads it from the autograded notebook (autograde/diagnoses.py); the
feedback keeps only a test cell's error, so students never see it. Installed by boot.py before the
guard's snapshot, so the guard restores this handler like IPython's own.

Standard library and IPython only: mounted read-only in the sandbox, it never imports the grader.
"""

MIME = "application/vnd.autograde.diagnosis+json"


def install(shell) -> None:
    try:
        from gradcoach.check import GradcoachAssertionError
    except ImportError:  # a course without gradcoach: nothing to record
        return

    def handler(self, etype, value, tb, tb_offset=None):
        self.showtraceback(running_compiled_code=True)
        codes = getattr(value, "codes", ())
        if isinstance(codes, tuple) and all(isinstance(code, str) for code in codes):
            label = getattr(value, "label", None)
            self.display_pub.publish(data={MIME: {"codes": list(codes),
                                                  "label": label if isinstance(label, str) else None}},
                                     metadata={})
        return None

    shell.set_custom_exc((GradcoachAssertionError,), handler)
