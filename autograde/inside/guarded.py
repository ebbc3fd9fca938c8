"""The names a graded test cell uses for the course's modules, and the module each one stands for.

The one definition for the grader (execute.py renames these names in test cells to per-kernel
aliases, scan.py flags student code that changes them) and for the guard inside the sandbox
(autograde_guard.py binds each alias to the pristine module). Standard library only: this file is
mounted read-only at /opt/autograde. A course adds a name through ``SandboxedExecute.guarded_names``.
"""
GUARDED = {"gc": "gradcoach", "torch": "torch", "np": "numpy", "numpy": "numpy", "math": "math"}
