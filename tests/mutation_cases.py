"""The mutation suite's cases: for every exercise, beginner mistakes that the test cell must fail
and correct answers written differently from the reference that it must pass. Keys: lesson stem →
exercise → {"wrong", "right"}. A wrong case is (code, expected): expected is what the failure must
name, a gradcoach diagnosis code (GradcoachAssertionError.codes) or a fragment of the message, or a
tuple of them that must all be named. MISDIAGNOSED lists the cases whose message today names the wrong
problem (expected pins today's code so a fix shows up as a failure to update here)."""

W = "wrong"
R = "right"

CASES = {
"00_tensors": {
 "ex1": {W: [
  ("def as_float_leaf(values):\n    return torch.tensor(values, requires_grad=True)", ('answer_raised', 'floating-point')),
  ("def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float64)", ('does not require grad', 'history was cut')),
  ("def as_float_leaf(values):\n    return values", 'rule_not_tensor'),
  ("def as_float_leaf(values):\n    return torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)", 'value_wrong_shape'),
  ("def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float64, requires_grad=True).flatten()", 'value_wrong_shape'),
  ("def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float64, requires_grad=True) * 1", ('grad_none_returned_non_leaf', 'the leaf itself')),
  ("def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float64).abs().requires_grad_()", 'value_mismatch_hidden'),
 ], R: [
  "def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float64).requires_grad_()",
  "def as_float_leaf(values):\n    x = torch.as_tensor(values).double()\n    x.requires_grad = True\n    return x",
  "def as_float_leaf(values):\n    return torch.tensor(values, dtype=torch.float32, requires_grad=True)",
 ]},
 "ex2": {W: [
  ("def quadratic_form(A, x):\n    return (x * A * x).sum()", 'value_mismatch'),
  ("def quadratic_form(A, x):\n    return x @ A", 'rule_shape'),
  ("def quadratic_form(A, x):\n    return float(x @ A @ x)", 'rule_not_tensor'),
  ("def quadratic_form(A, x):\n    return (x @ A @ x).detach()", ('does not require grad', 'returned a tensor with no history', '`.detach()`')),
  ("def quadratic_form(A, x):\n    return (x @ A @ x).reshape(1)", 'rule_shape'),
  ("def quadratic_form(A, x):\n    return x @ A.T @ x + 1e-3", 'value_mismatch'),
  ("def quadratic_form(A, x):\n    return (x @ A @ x).float()", 'rule_dtype'),
 ], R: [
  "def quadratic_form(A, x):\n    return torch.dot(x, A @ x)",
  "def quadratic_form(A, x):\n    return A @ x @ x",
  "def quadratic_form(A, x):\n    return (x * (A @ x)).sum()",
  "def quadratic_form(A, x):\n    return torch.einsum('i,ij,j->', x, A, x)",
 ]},
},
"01_scalar_derivatives": {
 "ex1": {W: [
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, requires_grad=True)\n    (x ** 3 - 4 * x + 1).backward()\n    return x", 'rule_dtype_leaf'),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    x.grad = 3 * x.detach() ** 2 - 4\n    return x", ('rule_required', 'backward')),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    (x ** 3 + 4 * x + 1).backward()\n    return x", 'came from another computation'),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = x ** 3 - 4 * x + 1\n    y.backward(retain_graph=True)\n    y.backward()\n    return x", 'accumulated'),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    (x ** 3 - 4 * x + 1).backward()\n    return x.grad", 'value_mismatch'),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    (x ** 2 - 4 * x + 1).backward()\n    return x", 'came from another computation'),
  ("def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = x ** 3 - 4 * x + 1\n    return x", ('rule_required', 'backward')),
 ], R: [
  "def grad_of_cubic(x0):\n    x = torch.tensor(float(x0)).double().requires_grad_()\n    y = x * x * x - 4 * x + 1\n    y.backward()\n    return x",
  "def grad_of_cubic(x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    torch.autograd.backward(x ** 3 - 4 * x + 1)\n    print(x.grad)\n    return x",
 ]},
 "ex2": {W: [
  ("def d_ratio(x):\n    x = x.detach().requires_grad_()\n    with torch.enable_grad():\n        return torch.autograd.grad(x / (1 + x ** 2), x)[0]", ('rule_forbidden', 'torch.autograd.grad')),
  ("def d_ratio(x):\n    return gc.finite_difference(lambda t: t / (1 + t ** 2), x)", ('rule_forbidden', 'finite_difference')),
  ("def d_ratio(x):\n    return (1 + x ** 2) / (1 + x ** 2) ** 2", 'formula_wrong'),
  ("def d_ratio(x):\n    return (1 - x ** 2) / (1 + x ** 2)", 'formula_wrong'),
  ("def d_ratio(x):\n    return (x ** 2 - 1) / (1 + x ** 2) ** 2", 'formula_sign_flipped'),
  # a central difference written out: accurate to 1e-10, not the derivative by hand
  ("def d_ratio(x):\n    h = 1e-6\n    f = lambda t: t / (1 + t ** 2)\n    return (f(x + h) - f(x - h)) / (2 * h)",
   ('near_exact_formula', 'worked out by hand')),
  ("def d_ratio(x):\n    return 1 / (1 + x ** 2) - 2 * x / (1 + x ** 2) ** 2", 'formula_wrong'),
  ("def d_ratio(x):\n    return torch.tensor(0.48)", ('near_exact_formula', 'float32')),
  ("def d_ratio(x):\n    return torch.full_like(x, 0.48)", 'formula_wrong_hidden'),
 ], R: [
  "def d_ratio(x):\n    return 1 / (1 + x ** 2) - 2 * x ** 2 / (1 + x ** 2) ** 2",
  "def d_ratio(x):\n    u, v = x, 1 + x * x\n    return (1 * v - u * 2 * x) / v ** 2",
 ]},
 "ex3": {W: [
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps):\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x -= lr * x.grad\n    return x", 'value_mismatch'),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64)\n    for _ in range(steps):\n        x = x - lr * (x ** 3 - 1)\n    return x", ('value_mismatch', 'backward() calls')),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps):\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x += lr * x.grad\n        x.grad = None\n    return x", 'value_mismatch'),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, requires_grad=True)\n    for _ in range(steps):\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x -= lr * x.grad\n        x.grad = None\n    return x", 'rule_dtype_leaf'),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps - 1):\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x -= lr * x.grad\n        x.grad = None\n    return x", ('value_mismatch', 'backward() calls')),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps):\n        (x ** 4 - x).backward()\n        with torch.no_grad():\n            x -= lr * x.grad\n        x.grad = None\n    return x", 'value_mismatch'),
  ("def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps):\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x -= x.grad\n        x.grad = None\n    return x", 'value_mismatch'),
 ], R: [
  "def descend(x0, lr, steps):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    for _ in range(steps):\n        if x.grad is not None:\n            x.grad.zero_()\n        (x ** 4 / 4 - x).backward()\n        with torch.no_grad():\n            x.sub_(lr * x.grad)\n    return x",
  "def descend(x0, lr, steps):\n    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)\n    opt = torch.optim.SGD([x], lr=lr)\n    for _ in range(steps):\n        opt.zero_grad()\n        (x ** 4 / 4 - x).backward()\n        opt.step()\n    return x",
 ]},
 "ex4": {W: [
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, requires_grad=True)\n    y = torch.tensor(y0, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return x, y\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return (1 + x * y) * e, x ** 2 * e", 'rule_dtype_leaf'),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return x, y\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return e, x ** 2 * e", 'formula_wrong'),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return x, y\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return (1 + x * y) * e, x * e", 'formula_wrong'),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return x, y\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return x ** 2 * e, (1 + x * y) * e", 'formula_swapped'),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return x, y\n\ndef partials_xy(x, y):\n    x = x.detach().requires_grad_()\n    y = y.detach().requires_grad_()\n    with torch.enable_grad():\n        return torch.autograd.grad(x * torch.exp(x * y), (x, y))", ('rule_forbidden', 'torch.autograd.grad')),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    return x, y\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return (1 + x * y) * e, x ** 2 * e", ('rule_required', 'backward')),
  ("def grad_xy(x0, y0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)\n    (x * torch.exp(x * y)).backward()\n    return y, x\n\ndef partials_xy(x, y):\n    e = torch.exp(x * y)\n    return (1 + x * y) * e, x ** 2 * e", 'value_mismatch'),
 ], R: [
  "def grad_xy(x0, y0):\n    x, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x0, y0))\n    torch.autograd.backward(x * torch.exp(x * y))\n    return x, y\n\ndef partials_xy(x, y):\n    return torch.exp(x * y) + x * y * torch.exp(x * y), x * x * torch.exp(x * y)",
  "def grad_xy(x0, y0):\n    x = torch.tensor(x0).double().requires_grad_()\n    y = torch.tensor(y0).double().requires_grad_()\n    g = x * (x * y).exp()\n    g.backward()\n    return x, y\n\ndef partials_xy(x, y):\n    e = (x * y).exp()\n    return e * (1 + x * y), e * x ** 2",
 ]},
},
}


def _fn(header, *bodies):
    return [header + "\n" + "\n".join("    " + line for line in body.split("\n")) for body in bodies]


CASES["02_chain_rule"] = {
 "ex1": {W: list(zip(_fn("def grad_through_calc2(values):",
    "a = torch.tensor(values, requires_grad=True)\ncalc2(a).backward()\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ncalc2(a).backward()\ncalc2(a).backward()\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ntorch.log(1 + (3 * a - 1) ** 2).sum().backward()\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ntorch.log(1 + (3 * a + 1) ** 2).mean().backward()\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ncalc2(a).backward()\nreturn a.grad",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ntorch.log(1 + (a - 1) ** 2).mean().backward()\nreturn a",
  ), ['rule_dtype_leaf', ('rule_required', 'backward'), 'accumulated', 'constant_factor_sum_mean', 'came from another computation', 'value_mismatch', 'came from another computation'])),
  R: _fn("def grad_through_calc2(values):",
    "a = torch.tensor(values).double().requires_grad_()\ntorch.autograd.backward(calc2(a))\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\ne = torch.log(1 + (3 * a - 1) ** 2).mean()\ne.backward()\nprint(a.grad)\nreturn a")},
 "ex2": {W: list(zip(_fn("def calc2_grad_by_hand(a):",
    "b = 3 * a - 1\nreturn 2 * b / (1 + b ** 2) * 3",
    "b = 3 * a - 1\nreturn (1 / a.numel()) * 2 * b / (1 + b ** 2)",
    "b = 3 * a - 1\nreturn (1 / a.numel()) / (1 + b ** 2) * 3",
    "b = 3 * a - 1\nreturn (1 / 3) * (2 * b / (1 + b ** 2)) * 3",
    "a = a.detach().requires_grad_()\nwith torch.enable_grad():\n    return torch.autograd.grad(calc2(a), a)[0]",
    "return gc.finite_difference(calc2, a)",
    "b = 3 * a - 1\nreturn -(1 / a.numel()) * (2 * b / (1 + b ** 2)) * 3",
    "b = 3 * a - 1\nreturn 2 * b / (1 + b ** 2)",
    "h = 1e-6\nreturn torch.stack([(calc2(a + h * e) - calc2(a - h * e)) / (2 * h) for e in torch.eye(a.numel(), dtype=a.dtype)])",
  ), ['formula_constant_factor', 'formula_constant_factor', 'formula_wrong', 'formula_constant_factor', ('rule_forbidden', 'torch.autograd.grad'), ('rule_forbidden', 'finite_difference'), 'formula_sign_flipped', 'formula_constant_factor',
      'near_exact_formula'])),
  R: _fn("def calc2_grad_by_hand(a):",
    "n = len(a)\nreturn 6 * (3 * a - 1) / (n * (1 + (3 * a - 1) ** 2))",
    "b = 3 * a - 1\nd = 1 + b * b\nreturn (2 * b * 3) / d / a.numel()")},
 "ex3": {W: list(zip(_fn("def intermediate_c(values):",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = (2 * a + 1) ** 2\n(c / (c + 2)).mean().backward()\nreturn c",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = (2 * a + 1) ** 2\nc.retain_grad()\n(c / (c + 2)).sum().backward()\nreturn c",
    "a = torch.tensor(values, requires_grad=True)\nc = (2 * a + 1) ** 2\nc.retain_grad()\n(c / (c + 2)).mean().backward()\nreturn c",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = (2 * a + 1) ** 2\nc.retain_grad()\n(c / (c + 2)).mean().backward()\nreturn a",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = ((2 * a + 1) ** 2).detach().requires_grad_()\n(c / (c + 2)).mean().backward()\nreturn c * 1",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = (2 * a + 1) ** 2\nc.retain_grad()\n(c / (c + 1)).mean().backward()\nreturn c",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = (a + 1) ** 2\nc.retain_grad()\n(c / (c + 2)).mean().backward()\nreturn c",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nc = ((2 * a + 1) ** 2).detach().requires_grad_()\n(c / (c + 2)).mean().backward()\nreturn c",
    "c = ((2 * torch.tensor(values, dtype=torch.float64) + 1) ** 2).requires_grad_()\n(c / (c + 2)).mean().backward()\nreturn c",
  ), [('grad_none_returned_non_leaf', '.retain_grad()` inside `intermediate_c`'), 'constant_factor_sum_mean', 'rule_dtype', 'value_mismatch', 'grad_none_returned_non_leaf', 'came from another computation', 'value_mismatch', 'is a leaf tensor (its grad_fn is None)', 'is a leaf tensor (its grad_fn is None)'])),
  R: _fn("def intermediate_c(values):",
    "a = torch.tensor(values, dtype=torch.float64, requires_grad=True)\nb = 2 * a + 1\nc = b ** 2\nc.retain_grad()\ne = (c / (c + 2)).mean()\ne.backward()\nreturn c",
    "a = torch.tensor(values, dtype=torch.float64).requires_grad_()\nc = (a * 2 + 1).pow(2)\nc.retain_grad()\nd = 1 - 2 / (c + 2)\nd.mean().backward()\nreturn c")},
 "ex4": {W: list(zip(_fn("def pseudo_huber(x):",
    "return (torch.sqrt(1 + x.detach() ** 2) - 1).mean()",
    "return torch.tensor((torch.sqrt(1 + x ** 2) - 1).mean().item(), requires_grad=True)",
    "return (torch.sqrt(1 + x ** 2) - 1).sum()",
    "return torch.sqrt(1 + x ** 2) - 1",
    "return (torch.sqrt(1 + x ** 2) - 1).mean().item()",
    "x.grad = torch.zeros_like(x)\nreturn (torch.sqrt(1 + x ** 2) - 1).mean()",
    "return ((torch.sqrt(1 + x ** 2) - 1).mean()).reshape(1)",
    "return (torch.sqrt(1 + x.data ** 2) - 1).mean()",
    "loss = (torch.sqrt(1 + x ** 2) - 1).mean()\nloss.backward()\nreturn loss",
  ), [('returned a tensor with no history', '`.detach()`'), 'grad_none_no_backward', 'value_mismatch', 'rule_shape', 'rule_not_tensor', ('rule_side_effect', 'x.grad` changed'), 'rule_shape', ('returned a tensor with no history', '`.data`'),
      ('rule_side_effect', 'remove them from your function')])),
  R: _fn("def pseudo_huber(x):",
    "return torch.mean(torch.sqrt(x * x + 1) - 1)",
    "y = (1 + x.pow(2)).sqrt() - 1\nreturn y.sum() / x.numel()")},
}

CASES["03_vector_backward"] = {
 "ex1": {W: list(zip(_fn("def vjp_by_hand(x, v):",
    "return v * x.sum()",
    "return v * x.sum() + v * x",
    "return (v * x).sum() * torch.ones_like(x)",
    "return v * x.sum() + (v * x).sum() + v * x",
    "x = x.detach().requires_grad_()\nwith torch.enable_grad():\n    (x * x.sum()).backward(v)\nreturn x.grad",
    "return torch.autograd.functional.vjp(lambda t: t * t.sum(), x, v)[1]",
    "return (v * x.sum() + (v * x).sum()).reshape(-1, 1)",
    "return torch.tensor([6.0, 4.0, 2.0], dtype=torch.float64)",
  ), ['formula_wrong', 'formula_wrong', 'formula_wrong', 'formula_wrong', ('rule_forbidden', 'torch.autograd.backward'), ('rule_forbidden', 'torch.autograd.functional.vjp'), 'rule_shape', 'formula_wrong'])),
  R: _fn("def vjp_by_hand(x, v):",
    "J = torch.diag(torch.full_like(x, float(x.sum()))) + x[:, None] * torch.ones_like(x)[None, :]\nreturn v @ J",
    "S = x.sum()\nreturn torch.stack([v[j] * S + (v * x).sum() for j in range(len(x))])")},
 "ex2": {W: list(zip(_fn("def vjp_normalize(x0, v):",
    "x = torch.tensor(x0, requires_grad=True)\n(x / x.norm()).backward(v.float())\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(x / x.norm()).sum().backward()\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(x / x.norm().detach()).backward(v)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nr = x.norm()\nx.grad = (v - (v * x / r).sum() * x / r) / r\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(x / (x ** 2).sum()).backward(v)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\ny = x / x.norm()\ny.backward(v, retain_graph=True)\ny.backward(v)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(x / x.norm()).backward(torch.ones_like(x))\nreturn x",
  ), ['rule_dtype_leaf', 'wrong_v', ('missing_paths', 'hidden from autograd'), ('rule_required', 'backward'), 'came from another computation', 'accumulated', 'wrong_v'])),
  R: _fn("def vjp_normalize(x0, v):",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\ny = x / torch.sqrt((x * x).sum())\ntorch.autograd.backward(y, v)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\ny = torch.nn.functional.normalize(x, dim=0)\n(y * v).sum().backward()\nreturn x")},
 "ex3": {W: list(zip(_fn("def jacobian_rows(f, x0):",
    "return torch.autograd.functional.jacobian(f, x0)",
    "return torch.func.jacrev(f)(x0)",
    "x = x0.detach().clone().requires_grad_()\nrows = []\nfor i in range(f(x0).numel()):\n    y = f(x)\n    e = torch.zeros_like(y)\n    e[i] = 1.0\n    y.backward(e)\n    rows.append(x.grad.clone())\nreturn torch.stack(rows)",
    "x0.requires_grad_()\nrows = []\nfor i in range(f(x0).numel()):\n    y = f(x0)\n    e = torch.zeros_like(y)\n    e[i] = 1.0\n    y.backward(e)\n    rows.append(x0.grad.clone())\n    x0.grad = None\nreturn torch.stack(rows)",
    "rows = []\nfor i in range(f(x0).numel()):\n    x = x0.detach().clone().requires_grad_()\n    y = f(x)\n    e = torch.zeros_like(y)\n    e[i] = 1.0\n    y.backward(e)\n    rows.append(x.grad)\nreturn torch.stack(rows).T",
    "rows = []\nfor i in range(f(x0).numel()):\n    x = x0.detach().clone().requires_grad_()\n    y = f(x)\n    y.backward(torch.ones_like(y))\n    rows.append(x.grad)\nreturn torch.stack(rows)",
    "rows = []\nfor i in range(f(x0).numel()):\n    x = x0.detach().clone().requires_grad_()\n    y = f(x)\n    e = torch.zeros_like(y)\n    e[i] = 1.0\n    y.backward(e)\n    rows.append(x.grad)\nreturn torch.cat(rows)",
    "return torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 6.0]], dtype=torch.float64)",
  ), [('rule_forbidden', 'torch.autograd.functional.jacobian'), ('rule_forbidden', 'torch.func.jacrev'), 'value_mismatch', ('rule_side_effect', 'only supposed to read'), 'rule_shape', 'value_mismatch', 'rule_shape', ('rule_required', 'backward')])),
  R: _fn("def jacobian_rows(f, x0):",
    "x = x0.detach().clone().requires_grad_()\ny = f(x)\nrows = []\nfor i in range(y.numel()):\n    x.grad = None\n    y.backward(torch.eye(y.numel(), dtype=y.dtype)[i], retain_graph=True)\n    rows.append(x.grad.clone())\nreturn torch.stack(rows)",
    "x = x0.clone().detach().requires_grad_(True)\ny = f(x)\nJ = torch.zeros(y.numel(), x.numel(), dtype=x.dtype)\nfor i in range(y.numel()):\n    if x.grad is not None:\n        x.grad.zero_()\n    y[i].backward(retain_graph=True)\n    J[i] = x.grad\nreturn J")},
 "ex4": {W: list(zip(_fn("def jacobian_columns(f, x0, h=1e-6):",
    "return torch.autograd.functional.jacobian(f, x0)",
    "cols = []\nfor j in range(x0.numel()):\n    s = torch.zeros_like(x0)\n    s[j] = h\n    cols.append((f(x0 + s) - f(x0)) / h)\nreturn torch.stack(cols, dim=1)",
    "cols = []\nfor j in range(x0.numel()):\n    s = torch.zeros_like(x0)\n    s[j] = h\n    cols.append((f(x0 + s) - f(x0 - s)) / (2 * h))\nreturn torch.stack(cols)",
    "cols = []\nfor j in range(x0.numel()):\n    s = torch.zeros_like(x0)\n    s[j] = h\n    cols.append((f(x0 + s) - f(x0 - s)) / h)\nreturn torch.stack(cols, dim=1)",
    "x = x0.float()\ncols = []\nfor j in range(x.numel()):\n    s = torch.zeros_like(x)\n    s[j] = 1e-3\n    cols.append((f(x + s) - f(x - s)) / 2e-3)\nreturn torch.stack(cols, dim=1)",
    "cols = []\nfor j in range(x0.numel()):\n    x0[j] += h\n    up = f(x0)\n    x0[j] -= 2 * h\n    down = f(x0)\n    x0[j] += h + 1e-9\n    cols.append((up - down) / (2 * h))\nreturn torch.stack(cols, dim=1)",
    "return torch.stack([gc.finite_difference(lambda t: f(t)[i], x0) for i in range(f(x0).numel())])",
    "cols = []\nfor j in range(x0.numel()):\n    s = torch.zeros_like(x0)\n    s[j] = h\n    cols.append((f(x0 + s) - f(x0 - s)) / (2 * h))\nreturn torch.cat(cols)",
  ), [('rule_forbidden', 'torch.autograd.functional.jacobian'), ('value_mismatch', 'is [[1484.14, 0], [0, 1.35336]], but it should be [[1484.13, 0], [0, 1.35335]]'), 'rule_shape', 'constant_factor', 'rule_dtype', ('rule_side_effect', 'only supposed to read'), ('rule_forbidden', 'finite_difference'), 'rule_shape'])),
  R: _fn("def jacobian_columns(f, x0, h=1e-6):",
    "x = x0.detach().double()\nE = torch.eye(x.numel(), dtype=torch.float64) * h\nreturn torch.stack([(f(x + E[j]) - f(x - E[j])) / (2 * h) for j in range(x.numel())], dim=1)",
    "x = x0.detach().clone().to(torch.float64)\nJ = None\nfor j in range(x.numel()):\n    xp, xm = x.clone(), x.clone()\n    xp[j] += h\n    xm[j] -= h\n    col = (f(xp) - f(xm)) / (2 * h)\n    if J is None:\n        J = torch.zeros(col.numel(), x.numel(), dtype=torch.float64)\n    J[:, j] = col\nreturn J")},
}

CASES["04_no_grad_detach"] = {
 "ex1": {W: list(zip(_fn("def predict(w, b, x):",
    "return w * x + b",
    "return (w * x + b).detach()",
    "return w.detach() * x + b",
    "with torch.no_grad():\n    return (w * x + b).tolist()",
    "with torch.no_grad():\n    return w * x",
    "with torch.no_grad():\n    return w * x - b",
    "with torch.no_grad():\n    return (w * x + b).sum()",
    "torch.set_grad_enabled(False)\nreturn w * x + b",
  ), ['graph_should_be_cut', ('value_mismatch', 'saved for backward'), 'graph_should_be_cut', 'rule_not_tensor', 'value_mismatch', 'value_mismatch', 'rule_shape', ('rule_side_effect', 'grad mode')])),
  R: _fn("def predict(w, b, x):",
    "with torch.inference_mode():\n    return torch.addcmul(b, w, x)",
    "with torch.no_grad():\n    p = x * w\n    p = p + b\nprint(p)\nreturn p")},
 "ex2": {W: list(zip(_fn("def backward_bias_only(w, b, x, y):",
    "loss = ((w * x + b - y) ** 2).mean()\nloss.backward()\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).sum()\nloss.backward()\nreturn loss",
    "loss = ((w.detach() * x + b.detach() - y) ** 2).mean()\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nreturn loss",
    "loss = ((w * x + b - y) ** 2).mean()\nloss.backward()\nw.grad = None\nb.grad = b.grad * 1\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nloss.backward()\nloss.backward\nb.grad *= 2\nreturn loss",
    "loss = ((w.detach() * x + b + y) ** 2).mean()\nloss.backward()\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nloss.backward()\nreturn loss * 0",
    "w.requires_grad_(False)\nloss = ((w * x + b - y) ** 2).mean()\nloss.backward()\nreturn loss",
    "loss = ((w * x + b - y) ** 2).mean()\nloss.backward(inputs=[b])\nreturn loss.item()",
    "loss = ((w * x + b - y) ** 2).mean()\nloss.backward(inputs=[b])\nreturn loss.detach()",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nloss.backward()\nb.grad.zero_()\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nloss.backward()\nb.grad = torch.zeros_like(b)\nreturn loss",
    "loss = ((w * x + b.detach() - y) ** 2).mean()\nloss.backward()\nreturn loss",
    "loss = ((w.detach() * x + b - y) ** 2).mean()\nloss.backward()\nwith torch.no_grad():\n    b -= 0.1 * b.grad\nreturn loss",
  ), ['rule_connected', ('value_mismatch', 'the returned loss is 1.5, but it should be 0.5'), ('rule_required', 'backward'), ('rule_required', 'backward'), 'rule_connected', 'grad_modified_after_backward', ('value_mismatch', 'the returned loss'), ('value_mismatch', 'the returned loss'), ('rule_side_effect', 'requires_grad` was True'), 'rule_not_tensor', 'rule_not_connected',
      'grad_zeroed_after_backward', 'grad_zeroed_after_backward', ('rule_not_connected', '`b.detach()`'), ('value_mismatch', '`b` is 0.433333, but it should be 0.5')])),
  R: _fn("def backward_bias_only(w, b, x, y):",
    "with torch.no_grad():\n    wx = w * x\nloss = torch.mean((wx + b - y) ** 2)\nloss.backward()\nreturn loss",
    "loss = torch.nn.functional.mse_loss(w.detach() * x + b, y)\nloss.backward()\nreturn loss")},
 "ex3": {W: list(zip(_fn("def fixed_target_backward(w, a, b):",
    "loss = ((w * a).sum() - (w * b).sum()) ** 2\nloss.backward()\nreturn loss",
    "loss = ((w * a).sum().detach() - (w * b).sum()) ** 2\nloss.backward()\nreturn loss",
    "loss = ((w * a).sum() - (w * b).sum().detach()) ** 2\nreturn loss",
    "loss = ((w * a).sum() - (w * b).sum().detach())\nloss.backward()\nreturn loss",
    "loss = ((w * a).sum() - (w * a).sum().detach()) ** 2\nloss.backward()\nreturn loss",
    "loss = ((w * a).sum() - (w * b).sum().detach()) ** 2\nloss.backward()\nloss = ((w * a).sum() - (w * b).sum().detach()) ** 2\nloss.backward()\nreturn loss",
    "loss = ((w * a).mean() - (w * b).mean().detach()) ** 2\nloss.backward()\nreturn loss",
    "d = (w * a).sum() - (w * b).sum().detach()\n(d ** 2).backward()\nreturn d",
    "loss = ((w * a - (w * b).detach()) ** 2).sum()\nloss.backward()\nreturn loss",
  ), [('came from another computation', '1. the code you differentiated computes a different function'), 'came from another computation', ('rule_required', 'backward'),
      ('value_mismatch', 'the returned loss'), ('value_mismatch', 'the returned loss'), 'accumulated', ('value_mismatch', 'the returned loss'), ('value_mismatch', 'the returned loss'),
      ('value_mismatch', 'the returned loss')])),
  R: _fn("def fixed_target_backward(w, a, b):",
    "with torch.no_grad():\n    t = w @ b\nloss = (w @ a - t) ** 2\nloss.backward()\nreturn loss",
    "t = torch.dot(w.detach(), b)\nloss = (torch.dot(w, a) - t).pow(2)\nloss.backward()\nreturn loss")},
 "ex4": {W: list(zip(_fn("def vq_backward(u, e, x, beta):",
    "z = u * x\nloss = ((z.detach() - e) ** 2).sum() + beta * ((z - e.detach()) ** 2).sum()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = ((z - e) ** 2).sum() + beta * ((z - e) ** 2).sum()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = ((z.detach() - e) ** 2).sum() + ((z - e.detach()) ** 2).sum()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = beta * ((z.detach() - e) ** 2).sum() + ((z - e.detach()) ** 2).sum()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = ((z.detach() - e) ** 2).sum() + beta * ((z.detach() - e.detach()) ** 2).sum()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = ((z.detach() - e) ** 2).mean() + beta * ((z - e.detach()) ** 2).mean()\nloss.backward()\nreturn loss",
    "z = u * x.detach()\nloss = ((z.detach() - e) ** 2).sum() + beta * ((z - e.detach()) ** 2).sum()\nreturn loss",
    "z = u * x.detach()\nloss = ((z.detach() - e) ** 2).sum() + beta * ((z - e.detach()) ** 2).sum()\nloss.backward()\nreturn 2 * loss",
  ), ['rule_connected', 'came from another computation', 'came from another computation', 'came from another computation', 'grad_none_no_backward', 'constant_factor', ('rule_required', 'backward'), ('value_mismatch', 'the returned loss')])),
  R: _fn("def vq_backward(u, e, x, beta):",
    "with torch.no_grad():\n    xv = x.clone()\nz = u * xv\nz_sg, e_sg = z.detach(), e.detach()\nloss = torch.sum((z_sg - e) ** 2) + beta * torch.sum((z - e_sg) ** 2)\nloss.backward()\nreturn loss",
    "z = u * x.detach()\ncodebook = ((z.detach() - e) ** 2).sum()\ncommit = ((z - e.detach()) ** 2).sum()\n(codebook + beta * commit).backward()\nreturn codebook + beta * commit")},
}

CASES["05_higher_order"] = {
 "ex1": {W: list(zip(_fn("def second_derivative(f, x0):",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nf(x).backward()\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(fx,) = torch.autograd.grad(f(x), x, create_graph=True)\nfx.backward()\nf(x).backward()\nreturn x",
    "x = torch.tensor(x0, requires_grad=True)\n(fx,) = torch.autograd.grad(f(x), x, create_graph=True)\nfx.backward()\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\ny = f(x)\ny.backward(create_graph=True)\nx.grad.backward()\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(fx,) = torch.autograd.grad(f(x), x, create_graph=True)\n(fxx,) = torch.autograd.grad(fx, x)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(fx,) = torch.autograd.grad(f(x), x, create_graph=True)\n(2 * fx).backward()\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nx.grad = 2 * torch.log(x.detach()) + 3\nreturn x",
  ), [('second_is_first', 'create_graph=True'), 'second_includes_first', 'rule_dtype_leaf', 'second_includes_first', 'grad_none_backward_never_called', 'integer_factor_unknown', 'came from another computation'])),
  R: _fn("def second_derivative(f, x0):",
    "x = torch.tensor(float(x0), dtype=torch.float64).requires_grad_()\ng = torch.autograd.grad(f(x), [x], create_graph=True)[0]\ntorch.autograd.backward(g)\nreturn x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\ny = f(x)\n(dy,) = torch.autograd.grad(y, x, create_graph=True)\nprint('f\\'(x0) =', float(dy))\ndy.backward()\nreturn x")},
 "ex2": {W: list(zip(_fn("def second_row(f, x0, w0):",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nfx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)\nfx.backward()\nreturn x, w",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nfx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)\n(fx + fw).backward()\nreturn x, w",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nf(x, w).backward()\nreturn x, w",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nfx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)\nfw.backward()\nreturn w, x",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nfx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)\nfw.backward(retain_graph=True)\nfw.backward()\nreturn x, w",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\nfx, fw = torch.autograd.grad(f(x, w), (x, w), create_graph=True)\nfw.backward()\nx.grad, w.grad = w.grad, x.grad\nreturn x, w",
    "x = torch.tensor(x0, requires_grad=True)\nw = torch.tensor(w0, requires_grad=True)\n(fw,) = torch.autograd.grad(f(x, w), w, create_graph=True)\nfw.backward()\nreturn x, w",
  ), ['second_wrong_first', 'second_rows_added', 'second_is_first', 'came from another computation', 'integer_factor_unknown', 'came from another computation', 'rule_dtype_leaf'])),
  R: _fn("def second_row(f, x0, w0):",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\nw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)\n(fw,) = torch.autograd.grad(f(x, w), w, create_graph=True)\nfw.backward()\nreturn x, w",
    "x, w = (torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in (x0, w0))\ny = f(x, w)\ngrads = torch.autograd.grad(y, [x, w], create_graph=True)\ntorch.autograd.backward(grads[1])\nreturn x, w")},
 "ex3": {W: list(zip(_fn("def hvp(f, z0, v):",
    "return torch.autograd.functional.hessian(f, z0) @ v",
    "return torch.func.hessian(f)(z0) @ v",
    "return torch.autograd.functional.hvp(f, z0, v)[1]",
    "z = z0.detach().clone().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\n(hv,) = torch.autograd.grad(g.sum(), z)\nreturn hv",
    "z = z0.detach().clone().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\n(hv,) = torch.autograd.grad((g * v).sum(), z)\nreturn hv * v",
    "z = z0.detach().clone().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\nreturn g * v",
    "z0.requires_grad_()\n(g,) = torch.autograd.grad(f(z0), z0, create_graph=True)\n(hv,) = torch.autograd.grad((g * v).sum(), z0)\nreturn hv",
    "z = z0.detach().clone().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\n(hv,) = torch.autograd.grad((g * v).sum(), z)\nreturn hv.reshape(1, -1)",
    "def g(z):\n    z = z.detach().clone().requires_grad_()\n    return torch.autograd.grad(f(z), z)[0]\nh = 1e-5\nreturn (g(z0 + h * v) - g(z0 - h * v)) / (2 * h)",
    "zp = (z0 + 1e-6 * v).detach().requires_grad_()\nzm = (z0 - 1e-6 * v).detach().requires_grad_()\nf(zp).backward()\nf(zm).backward()\nreturn (zp.grad - zm.grad) / 2e-6",
    # the Hessian built row by row, one reverse pass per row: right values, not the method
    "z = z0.detach().clone().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\n"
    "H = torch.stack([torch.autograd.grad(g[i], z, retain_graph=True)[0] for i in range(z.numel())])\nreturn H @ v",
    # a float32 detour: right to 1e-7, where the test asks for 1e-12
    "z = z0.detach().clone().float().requires_grad_()\n(g,) = torch.autograd.grad(f(z), z, create_graph=True)\n"
    "(hv,) = torch.autograd.grad((g * v.float()).sum(), z)\nreturn hv.double()",
  ), [('rule_forbidden', 'torch.autograd.functional.hessian'), ('rule_forbidden', 'torch.func.hessian'), ('rule_forbidden', 'torch.autograd.functional.hvp'), ('second_wrong_v', 'g.sum()'), 'second_times_v_again', 'second_first_times_v', ('rule_side_effect', 'only supposed to read'), 'rule_shape', ('near_exact', 'central difference'), 'near_exact',
      ('rule_too_many', 'built row by row'), ('near_exact', 'float32')])),
  R: _fn("def hvp(f, z0, v):",
    "z = z0.detach().requires_grad_()\ng = torch.autograd.grad(f(z), z, create_graph=True)[0]\nreturn torch.autograd.grad(g @ v, z)[0]",
    "return torch.func.jvp(torch.func.grad(f), (z0,), (v,))[1]")},
 "ex4": {W: list(zip(_fn("def newton_step(f, x0):",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn x - d1 / d2",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn float(x - d1 / d2)",
    "x = torch.tensor(x0, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn (x - d1 / d2).detach()",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn (x + d1 / d2).detach()",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn (x - d2 / d1).detach()",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x)\nreturn (x - d1).detach()",
    "return torch.tensor(0.75, dtype=torch.float64)",
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n(d2,) = torch.autograd.grad(d1, x)\nreturn (x - d1 / d2).detach().reshape(1, 1)",
    "h = 1e-4\nx = torch.tensor(x0, dtype=torch.float64)\nd1 = (f(x + h) - f(x - h)) / (2 * h)\nd2 = (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2\nreturn x - d1 / d2",
    # f' from autograd, f'' by central differences of it: the best step, still an estimate
    "def d1_at(v):\n    v = torch.tensor(v, dtype=torch.float64, requires_grad=True)\n    return torch.autograd.grad(f(v), v)[0]\n"
    "h = 1e-5\nd2 = (d1_at(x0 + h) - d1_at(x0 - h)) / (2 * h)\nreturn (x0 - d1_at(x0) / d2).to(torch.float64)",
    # the step taken in place on the leaf, as an optimizer would: no history, but it requires grad
    "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = torch.autograd.grad(f(x), x, create_graph=True)\n"
    "(d2,) = torch.autograd.grad(d1, x)\nwith torch.no_grad():\n    x -= d1 / d2\nreturn x",
  ), ['graph_should_be_cut', 'rule_not_tensor', 'rule_dtype', 'value_mismatch', 'value_mismatch', 'value_mismatch', 'rule_required_any', 'rule_shape', ('rule_required_any', 'torch.autograd.grad'), ('near_exact', 'central difference'),
      'graph_leaf_requires_grad'])),
  R: _fn("def newton_step(f, x0):",
    "x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)\ny = f(x)\ng = torch.autograd.grad(y, x, create_graph=True)[0]\nh = torch.autograd.grad(g, x)[0]\nwith torch.no_grad():\n    return x - g / h",
    "d1 = torch.func.grad(f)\nd2 = torch.func.grad(d1)\nx = torch.tensor(x0, dtype=torch.float64)\nreturn (x - d1(x) / d2(x)).detach()")
    # autograd's grad imported before the test: counted like torch.autograd.grad
    + ["from torch.autograd import grad\n\n\n" + _fn("def newton_step(f, x0):",
       "x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n(d1,) = grad(f(x), x, create_graph=True)\n"
       "(d2,) = grad(d1, x)\nreturn (x - d1 / d2).detach()")[0]]},
}

CASES["06_capstone"] = {
 "ex1": {W: list(zip(_fn("def cheaper_mode(n_inputs, n_outputs):",
    "return \"forward\" if n_inputs > n_outputs else \"reverse\"",
    "return \"forward\" if n_inputs <= n_outputs else \"reverse\"",
    "return \"reverse\"",
    "return \"Forward\" if n_inputs < n_outputs else \"Reverse\"",
    "return \"forward\" if n_inputs < 100 else \"reverse\"",
    "return n_inputs < n_outputs",
    "return \"forward mode\" if n_inputs < n_outputs else \"reverse mode\"",
  ), ['choice_wrong', 'choice_wrong', 'choice_wrong', 'choice_invalid', 'choice_wrong', 'choice_invalid', 'choice_invalid'])),
  R: _fn("def cheaper_mode(n_inputs, n_outputs):",
    "if n_outputs > n_inputs:\n    return 'forward'\nreturn 'reverse'",
    "return ['reverse', 'forward'][int(n_inputs < n_outputs)]")},
 "ex2": {W: list(zip(_fn("def jvp_at(f, x0, u):",
    "return torch.autograd.functional.jacobian(f, x0) @ u",
    "return torch.func.jacfwd(f)(x0) @ u",
    "return torch.func.jacrev(f)(x0) @ u",
    "x = x0.detach().clone().requires_grad_()\ny = f(x)\ny.backward(u[: y.numel()])\nreturn x.grad",
    "return torch.func.jvp(f, (x0,), (u,))[0]",
    "return torch.func.jvp(f, (x0,), (torch.ones_like(x0),))[1]",
    "return torch.func.jvp(f, (x0,), (u.float(),))[1].float()",
    "h = 1e-6\nreturn (f(x0 + h * u) - f(x0 - h * u)) / (2 * h)",
  ), [('rule_forbidden', 'torch.autograd.functional.jacobian'), ('rule_forbidden', 'torch.func.jacfwd'), ('rule_forbidden', 'torch.func.jacrev'), ('rule_forbidden', 'torch.autograd.backward'), 'value_mismatch', 'value_mismatch_hidden', ('answer_raised', 'same dtype'), ('rule_required', 'torch.func.jvp')]))
  # a forbidden function imported before the test is refused like torch.func.jacfwd
  + [("from torch.func import jacfwd as jf\n\n\n" + _fn("def jvp_at(f, x0, u):", "return jf(f)(x0) @ u")[0],
      ('rule_forbidden', 'torch.func.jacfwd'))],
  R: _fn("def jvp_at(f, x0, u):",
    "out, tangent = torch.func.jvp(f, (x0,), (u,))\nreturn tangent",
    "primals, tangents = (x0,), (u,)\nreturn torch.func.jvp(lambda x: f(x), primals, tangents)[-1]")
    + ["from torch.func import jvp\n\n\n" + _fn("def jvp_at(f, x0, u):", "return jvp(f, (x0,), (u,))[1]")[0]]},
 "ex3": {W: list(zip(_fn("def jacobian_auto(f, x0):",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nreturn torch.autograd.functional.jacobian(f, x0), mode",
    "mode = cheaper_mode(f(x0).numel(), x0.numel())\nJ = torch.func.jacfwd(f)(x0) if mode == 'forward' else torch.func.jacrev(f)(x0)\nreturn J, mode",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nreturn torch.func.jacrev(f)(x0), mode",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nJ = torch.func.jacfwd(f)(x0) if mode == 'forward' else torch.func.jacrev(f)(x0)\nreturn mode, J",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nJ = torch.func.jacfwd(f)(x0) if mode == 'forward' else torch.func.jacrev(f)(x0)\nreturn J.T, mode",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nJ = torch.func.jacfwd(f)(x0) if mode == 'forward' else torch.func.jacrev(f)(x0)\nreturn [J, mode]",
    "mode = cheaper_mode(x0.numel(), f(x0).numel())\nJ = torch.func.jacfwd(f)(x0) if mode == 'forward' else torch.func.jacrev(f)(x0)\nreturn J.flatten(), mode",
  ), [('rule_forbidden', 'torch.autograd.functional.jacobian'), ('rule_required', 'torch.func.jacfwd'), ('rule_required', 'torch.func.jacfwd'), 'rule_not_tensor', 'rule_shape', 'rule_wrong_type', 'rule_shape'])),
  R: _fn("def jacobian_auto(f, x0):",
    "n, m = x0.numel(), f(x0).numel()\nmode = cheaper_mode(n, m)\nbuild = {'forward': torch.func.jacfwd, 'reverse': torch.func.jacrev}[mode]\nreturn build(f)(x0), mode",
    "mode = cheaper_mode(len(x0), len(f(x0)))\nif mode == 'reverse':\n    return torch.func.jacrev(f)(x0), mode\nreturn torch.func.jacfwd(f)(x0), mode")},
}

_LS = ("class LogSigmoid(torch.autograd.Function):\n    @staticmethod\n    def forward(x):\n{fwd}\n"
       "    @staticmethod\n    def setup_context(ctx, inputs, output):\n{setup}\n"
       "    @staticmethod\n    def backward(ctx, grad_output):\n{bwd}\n\ndef log_sigmoid(x):\n    return {call}\n")
_SETUP = "(x,) = inputs\nctx.save_for_backward(x)"


def _ls(fwd, bwd, call="LogSigmoid.apply(x)", setup=_SETUP):
    indent = lambda text: "\n".join("        " + line for line in text.split("\n"))
    return _LS.format(fwd=indent(fwd), setup=indent(setup), bwd=indent(bwd), call=call)


_FWD = "return x.clamp(max=0) - torch.log1p(torch.exp(-x.abs()))"
_LEGACY = ("class LogSigmoid(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
           "        ctx.save_for_backward(x)\n        return x.clamp(max=0) - torch.log1p(torch.exp(-x.abs()))\n"
           "    @staticmethod\n    def backward(ctx, grad_output):\n        (x,) = ctx.saved_tensors\n"
           "        return grad_output * torch.sigmoid(-x)\n\ndef log_sigmoid(x):\n    return LogSigmoid.apply(x)\n")
_BWD = "(x,) = ctx.saved_tensors\nreturn grad_output * torch.sigmoid(-x)"
CASES["06_capstone"]["ex4"] = {
 W: [
  (_ls("return torch.log(torch.sigmoid(x))", _BWD), ('value_mismatch', 'float32')),
  (_ls(_FWD, "(x,) = ctx.saved_tensors\nreturn grad_output * torch.sigmoid(x)"), ('custom_backward_wrong', '`LogSigmoid`')),
  (_ls(_FWD, "(x,) = ctx.saved_tensors\nreturn torch.sigmoid(-x)"), ('custom_backward_ignores_grad_output', 'chain rule')),
  (_ls(_FWD, "(x,) = ctx.saved_tensors\nreturn grad_output * torch.exp(-x)"), 'custom_backward_wrong'),
  (_ls(_FWD, _BWD, call="torch.nn.functional.logsigmoid(x)"), 'grad_fn_builtin'),
  (_ls(_FWD, _BWD, call="LogSigmoid.forward(x)"), ('grad_fn_builtin', 'forward() called directly')),
  (_ls(_FWD, _BWD, call="LogSigmoid.apply(x).detach()"), 'grad_fn_none'),
  (_ls("return -torch.log1p(torch.exp(-x))", _BWD), ('value_mismatch', 'float32')),
  (_ls(_FWD, "(x,) = ctx.saved_tensors\nreturn -grad_output * torch.sigmoid(-x)"), ('custom_backward_wrong', 'custom_backward_sign')),
  (_ls(_FWD, _BWD, setup="ctx.save_for_backward(output)"), 'custom_backward_wrong'),
  (_ls(_FWD, _BWD, setup="pass"), 'answer_raised'),
  (_LEGACY, ('function_legacy_form', 'setup_context')),
 ],
 R: [
  _ls(_FWD, "(x,) = ctx.saved_tensors\nreturn grad_output * (1 - 1 / (1 + torch.exp(-x)))"),
  _ls("return torch.nn.functional.logsigmoid(x)", "(x,) = ctx.saved_tensors\nreturn grad_output * torch.exp(torch.nn.functional.logsigmoid(-x))"),
  _ls("return torch.minimum(x, torch.zeros_like(x)) - torch.log1p(torch.exp(-torch.abs(x)))", "(s,) = ctx.saved_tensors\nreturn grad_output * s",
      setup="(x,) = inputs\nctx.save_for_backward(torch.sigmoid(-x))"),
  _ls(_FWD, "(y,) = ctx.saved_tensors\nreturn grad_output * -torch.expm1(y)", setup="ctx.save_for_backward(output)"),
 ]}




def _sig(forward="s = 1 / (1 + math.exp(-a.data))", prev="(a,)", rule="a.grad += s * (1 - s) * out.grad",
         attach="out._backward = _backward"):
    return (f"def value_sigmoid(a):\n    {forward}\n    out = Value(s, {prev}, 'sigmoid')\n\n"
            f"    def _backward():\n        {rule}\n    {attach}\n    return out")


def _dot(rule_w="w.grad += x.data * out.grad", rule_x="x.grad += w.data * out.grad",
         prev="tuple(ws) + tuple(xs)", data="sum(w.data * x.data for w, x in zip(ws, xs))"):
    return (f"def value_dot(ws, xs):\n    out = Value({data}, {prev}, 'dot')\n\n    def _backward():\n"
            f"        for w, x in zip(ws, xs):\n            {rule_w}\n            {rule_x}\n"
            "    out._backward = _backward\n    return out")


_STEP_OK = "loss = mse(params, xs, ys)\nfor p in params:\n    p.grad = 0.0\nloss.backward()\nfor p in params:\n    p.data -= lr * p.grad\nreturn loss"

CASES["07_autograd_engine"] = {
 "ex1": {W: [
  (_sig(rule="a.grad = s * (1 - s) * out.grad"), ("missing_paths", "1. in a backward written by hand")),
  (_sig(rule="a.grad += s * out.grad"), ("value_mismatch", "a.grad after out._backward() with out.grad = 2")),
  (_sig(rule="a.grad += s * (1 - s)"), ("value_mismatch", "is 0.235004, but it should be 0.470007")),
  (_sig(rule="a.grad += a.data * (1 - a.data) * out.grad"), ("value_mismatch", "a.grad after out._backward() with out.grad = 2")),
  (_sig(prev="()"), "_prev"),
  (_sig().replace("'sigmoid'", "''"), "value_sigmoid(a)._op"),
  (_sig(forward="s = 1 / (1 + math.exp(a.data))"), "value_sigmoid(a).data"),
  (_sig(attach="pass"), ("value_mismatch", "is 0, but it should be 0.470007")),
  ("def value_sigmoid(a):\n    return 1 / (1 + (-a).exp())", "_prev"),
  ("def value_sigmoid(a):\n    return 1 / (1 + math.exp(-a.data))", "Value"),
 ], R: [
  _sig(rule="a.grad += out.data * (1 - out.data) * out.grad"),
  "def value_sigmoid(a):\n    out = Value((1 + math.tanh(a.data / 2)) / 2, [a], 'sigmoid')\n    def _backward():\n"
  "        a.grad = a.grad + out.grad * out.data * (1.0 - out.data)\n    out._backward = _backward\n    return out",
 ]},
 "ex2": {W: list(zip(_fn("def topological_order_iterative(root):",
    "return breadth_first_order(root)",
    "return topological_order(root)",
    "order, seen, stack = [], set(), [root]\nwhile stack:\n    v = stack.pop()\n    if v in seen:\n        continue\n    seen.add(v)\n    order.append(v)\n    stack.extend(v._prev)\nreturn order[::-1]",
    "order, stack = [], [(root, False)]\nwhile stack:\n    node, done = stack.pop()\n    if done:\n        order.append(node)\n    else:\n        stack.append((node, True))\n        for p in node._prev:\n            stack.append((p, False))\nreturn order",
    "order, seen, stack = [], set(), [(root, False)]\nwhile stack:\n    node, done = stack.pop()\n    if done:\n        order.append(node)\n    elif node not in seen:\n        seen.add(node)\n        stack.append((node, True))\n        stack.extend((p, False) for p in node._prev if p not in seen)\nreturn order[::-1]",
    "order, seen, stack = [], set(), [(root, False)]\nwhile stack:\n    node, done = stack.pop()\n    if done:\n        order.append(node)\n    elif node not in seen:\n        seen.add(node)\n        stack.append((node, True))\n        stack.extend((p, False) for p in node._prev if p not in seen)\nreturn order[:-1]",
    "order, seen, stack = [], set(), [(root, False)]\nwhile stack:\n    node, done = stack.pop()\n    if done:\n        order.append(node)\n    elif node not in seen:\n        seen.add(node)\n        stack.append((node, True))\n        stack.extend((p, False) for p in node._prev if p not in seen)\nreturn tuple(order)",
    "order, seen, stack = [], set(), [root]\nwhile stack:\n    v = stack.pop()\n    if v not in seen:\n        seen.add(v)\n        stack.extend(v._prev)\n        order.insert(0, v)\nreturn order",
  ), ["before one of their inputs", ("RecursionError", "a list used as a stack"), "before one of their inputs", "len(", "before one of their inputs", "different nodes", "list", "before one of their inputs"])),
  R: _fn("def topological_order_iterative(root):",
    # Kahn's algorithm on the number of users of each node
    "users, stack, seen = {}, [root], {root}\nwhile stack:\n    v = stack.pop()\n    for p in v._prev:\n        users[p] = users.get(p, 0) + 1\n        if p not in seen:\n            seen.add(p)\n            stack.append(p)\nready, reverse = [root], []\nwhile ready:\n    v = ready.pop()\n    reverse.append(v)\n    for p in v._prev:\n        users[p] -= 1\n        if users[p] == 0:\n            ready.append(p)\nreturn reverse[::-1]",
    # depth first with an explicit stack of iterators
    "order, seen = [], {root}\nstack = [(root, iter(root._prev))]\nwhile stack:\n    node, parents = stack[-1]\n    for p in parents:\n        if p not in seen:\n            seen.add(p)\n            stack.append((p, iter(p._prev)))\n            break\n    else:\n        stack.pop()\n        order.append(node)\nreturn order")},
 "ex3": {W: [
  (_dot(rule_w="w.grad = x.data * out.grad", rule_x="x.grad = w.data * out.grad"), ("missing_paths", "1. in a backward written by hand, a step overwrote")),
  (_dot(rule_w="w.grad += x.data", rule_x="x.grad += w.data"), "came from another computation"),
  (_dot(rule_w="w.grad += w.data * out.grad", rule_x="x.grad += x.data * out.grad"), "came from another computation"),
  (_dot(prev="tuple(ws)"), "_prev"),
  (_dot(data="sum(w.data + x.data for w, x in zip(ws, xs))"), "value_dot(ws, xs).data"),
  ("def value_dot(ws, xs):\n    return sum((w * x for w, x in zip(ws, xs)), Value(0.0))", "_prev"),
  ("def value_dot(ws, xs):\n    return sum(w.data * x.data for w, x in zip(ws, xs))", "Value"),
  (_dot(rule_x="x.grad += w.data * out.grad * 0"), "came from another computation"),
  (_dot().replace("'dot'", "'*'"), "value_dot(ws, xs)._op"),
 ], R: [
  _dot(prev="set(ws) | set(xs)"),
  "def value_dot(ws, xs):\n    n = len(ws)\n    out = Value(0.0, list(ws) + list(xs), 'dot')\n    for i in range(n):\n        out.data += ws[i].data * xs[i].data\n"
  "    def _backward():\n        for i in range(n):\n            ws[i].grad = ws[i].grad + out.grad * xs[i].data\n            xs[i].grad = xs[i].grad + out.grad * ws[i].data\n"
  "    out._backward = _backward\n    return out",
 ]},
 "ex4": {W: list(zip(_fn("def train_step(params, xs, ys, lr):",
    "loss = mse(params, xs, ys)\nloss.backward()\nfor p in params:\n    p.data -= lr * p.grad\nreturn loss",
    "loss = mse(params, xs, ys)\nloss.backward()\nfor p in params:\n    p.grad = 0.0\n    p.data -= lr * p.grad\nreturn loss",
    "loss = mse(params, xs, ys)\nfor p in params:\n    p.grad = 0.0\nloss.backward()\nfor p in params:\n    p.data += lr * p.grad\nreturn loss",
    _STEP_OK.replace("return loss", "return mse(params, xs, ys)"),
    "loss = mse(params, xs, ys)\nfor p in params:\n    p.grad = 0.0\nloss.backward()\nparams = [Value(p.data - lr * p.grad) for p in params]\nreturn loss",
    "loss = mse(params, xs, ys)\nfor p in params:\n    p.grad = 0.0\nloss.backward()\nparams[:] = [Value(p.data - lr * p.grad) for p in params]\nreturn loss",
    "ps = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in params]\ngrads = torch.autograd.grad(mse(ps, xs, ys), ps)\nfor p, g in zip(params, grads):\n    p.data -= lr * g.item()\nreturn mse(params, xs, ys)",
    _STEP_OK.replace("loss = mse(params, xs, ys)", "loss = mse(params, xs, ys) * len(xs)"),
    _STEP_OK.replace("for p in params:\n    p.data", "for p in params[:-1]:\n    p.data"),
    # a second backward() on the same graph: the leaves (the parameters) receive the gradient twice
    _STEP_OK.replace("loss.backward()", "loss.backward()\nloss.backward()"),
    # reset as PyTorch's tensors are: this engine's grad is a number, added to from 0.0
    _STEP_OK.replace("p.grad = 0.0", "p.grad = None"),
  ), ["parameters after step", "parameters after step", "parameters after step", "loss at step", "parameters after step", "same Value objects", "torch.autograd", "loss at step", "parameters after step", "parameters after step",
      "`p.grad = 0.0`, not `p.grad = None`"])),
  R: _fn("def train_step(params, xs, ys, lr):",
    "for p in params:\n    p.grad = 0\nloss = mse(params, xs, ys)\nbackward(loss)\nfor i, p in enumerate(params):\n    params[i].data = p.data - lr * p.grad\nreturn loss",
    "loss = sum(((tiny_mlp(params, x) - y) ** 2 for x, y in zip(xs, ys)), 0.0) / len(xs)\nfor p in params:\n    p.grad = 0.0\nbackward(loss, order=topological_order_iterative)\nfor p in params:\n    p.data = p.data - lr * p.grad\nreturn loss",
    # every node of the graph set to zero, leaves and interior nodes alike
    "loss = mse(params, xs, ys)\nfor v in topological_order(loss):\n    v.grad = 0.0\nloss.backward()\nfor p in params:\n    p.data -= lr * p.grad\nreturn loss")},
}


_TS = "def train_step(model, optimizer, x, y):"
CASES["08_training"] = {
 "ex1": {W: list(zip(_fn(_TS,
    "loss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\nreturn loss.item()",
    "loss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\noptimizer.zero_grad()\nreturn loss.item()",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\nreturn loss.item()",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\nreturn loss",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\noptimizer.step()\nloss.backward()\nreturn loss.item()",
    "optimizer.zero_grad()\nloss = ((model(x) - y) ** 2).sum()\nloss.backward()\noptimizer.step()\nreturn loss.item()",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\nreturn F.mse_loss(model(x), y).item()",
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nopt.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\nopt.step()\nreturn loss.item()",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\nwith torch.no_grad():\n    for p in model.parameters():\n        p -= 0.1 * p.grad\nreturn loss.item()",
  ) + ["def grads_at(loss, params):\n    return tuple(p.grad for p in params)\n\n\n" + _TS
         + "\n    loss = F.mse_loss(model(x), y)\n    loss.backward()\n    optimizer.step()\n    return loss.item()"],
  ["exactly 2 times", ("is None", "grad_cleared_after_backward"), "never called optimizer.step()", "plain Python number",
   "train_step(model, optimizer, x, y)", "train_step(model, optimizer, x, y)", "train_step(model, optimizer, x, y)",
   "train_step(model, optimizer, x, y)", "never called optimizer.step()", "exactly 2 times"])),
  R: _fn(_TS,
    "for p in model.parameters():\n    p.grad = None\nloss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\nreturn float(loss)",
    "optimizer.zero_grad(set_to_none=False)\npred = model(x)\nloss = ((pred - y) ** 2).mean()\nloss.backward()\noptimizer.step()\nreturn loss.detach().item()",
    "model.zero_grad()\nloss = torch.nn.MSELoss()(model(x), y)\ntorch.autograd.backward(loss)\noptimizer.step()\nreturn loss.item()")},
}

_AS = "def accumulate_step(model, optimizer, x, y, k):"
CASES["08_training"]["ex2"] = {
 W: list(zip(_fn(_AS,
    "optimizer.zero_grad()\ntotal = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    loss = F.mse_loss(model(xm), ym)\n    loss.backward()\n    total += loss.item()\noptimizer.step()\nreturn total / k",
    "total = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    optimizer.zero_grad()\n    loss = F.mse_loss(model(xm), ym) / k\n    loss.backward()\n    total += loss.item()\noptimizer.step()\nreturn total",
    "optimizer.zero_grad()\ntotal = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    loss = F.mse_loss(model(xm), ym) / k\n    loss.backward()\n    optimizer.step()\n    total += loss.item()\nreturn total",
    "optimizer.zero_grad()\nloss = F.mse_loss(model(x), y)\nloss.backward()\noptimizer.step()\nreturn loss.item()",
    "total = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    loss = F.mse_loss(model(xm), ym) / k\n    loss.backward()\n    total += loss.item()\noptimizer.step()\nreturn total",
    "optimizer.zero_grad()\ntotal = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    loss = F.mse_loss(model(xm), ym) / len(x)\n    loss.backward()\n    total += loss.item()\noptimizer.step()\nreturn total",
    "optimizer.zero_grad()\ntotal = 0.0\nfor xm, ym in zip(x.chunk(k), y.chunk(k)):\n    loss = F.mse_loss(model(xm), ym) / k\n    loss.backward()\n    total += loss.item()\noptimizer.step()\nreturn total / k",
    "optimizer.zero_grad()\nlosses = [F.mse_loss(model(xm), ym) / k for xm, ym in zip(x.chunk(k), y.chunk(k))]\nsum(losses).backward()\noptimizer.step()\nreturn sum(losses).item()",
  ), [("model[0].weight.grad (after accumulate_step)", "accumulation_missing_division"),
      ("model[0].weight.grad (after accumulate_step)", "grad_reset_between_passes"),
      "number of optimizer.step() calls", "number of backward() calls",
      ("model[0].weight.grad (after accumulate_step)", "grad_polluted_before_answer"),
      "accumulate_step(model, optimizer, x, y, k)", "accumulate_step(model, optimizer, x, y, k)", "number of backward() calls"])),
 R: _fn(_AS,
    "for p in model.parameters():\n    p.grad = None\nlosses = []\nfor xm, ym in zip(torch.chunk(x, k), torch.chunk(y, k)):\n    part = ((model(xm) - ym) ** 2).mean() * (1 / k)\n    part.backward()\n    losses.append(part.detach())\noptimizer.step()\nreturn torch.stack(losses).sum().item()",
    "optimizer.zero_grad()\nm = len(x) // k\ntotal = 0.0\nfor j in range(k):\n    xm, ym = x[j * m:(j + 1) * m], y[j * m:(j + 1) * m]\n    loss = F.mse_loss(model(xm), ym, reduction='sum') / len(x)\n    loss.backward()\n    total += float(loss)\noptimizer.step()\nreturn total"),
}

_FT = "def fine_tune(model, x, y, lr, steps):"
_FT_LOOP = "for _ in range(steps):\n    optimizer.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    optimizer.step()\nreturn model"
CASES["08_training"]["ex3"] = {
 W: list(zip(_fn(_FT,
    "optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\n" + _FT_LOOP,
    "model[2].requires_grad_(False)\noptimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\n" + _FT_LOOP,
    "optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\nfor _ in range(steps):\n    optimizer.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    model[0].weight.grad.zero_()\n    model[0].bias.grad.zero_()\n    optimizer.step()\nreturn model",
    "model[0].weight.requires_grad_(False)\noptimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\n" + _FT_LOOP,
    "model[0].eval()\noptimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\n" + _FT_LOOP,
    "model[0].requires_grad_(False)\noptimizer = torch.optim.SGD(model.parameters(), lr=lr)\n" + _FT_LOOP,
    "model[0].requires_grad_(False)\noptimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\nfor _ in range(steps):\n    F.mse_loss(model(x), y).backward()\n    optimizer.step()\nreturn model",
    "optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.01)\nfor step in range(steps):\n    optimizer.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    optimizer.step()\n    model[0].requires_grad_(False)\nreturn model",
  ), ["model[0].weight (after fine_tune)", "model[0].weight (after fine_tune)", "model[0].weight (after fine_tune)",
      "model[0].bias (after fine_tune)", "model[0].weight (after fine_tune)", "model[2].weight (after fine_tune)",
      "model[2].weight (after fine_tune)", "model[0].weight (after fine_tune)"])),
 R: _fn(_FT,
    "for p in model[0].parameters():\n    p.requires_grad = False\noptimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)\n" + _FT_LOOP,
    "model[0].requires_grad_(False)\noptimizer = torch.optim.SGD(model[2].parameters(), lr=lr, weight_decay=0.01)\nfor _ in range(steps):\n    model.zero_grad()\n    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n    optimizer.step()\nreturn model"),
}

_CH = "def add_clip_hooks(model, c):"
CASES["08_training"]["ex4"] = {
 W: list(zip(_fn(_CH,
    "return [p.register_hook(lambda grad: grad.clamp(-c, c)) for p in model.parameters() if p.dim() > 1]",
    "return [p.register_hook(lambda grad: grad.clamp(min=-c)) for p in model.parameters()]",
    "return [p.register_hook(lambda grad: grad * min(1.0, c / grad.norm().item())) for p in model.parameters()]",
    "return [p.register_hook(lambda grad: None if grad.clamp(-c, c) is None else None) for p in model.parameters()]",
    "handles = [p.register_hook(lambda grad: grad.clamp(-c, c)) for p in model.parameters()]\nfor h in handles:\n    h.remove()\nreturn handles",
    "return [p.register_hook(lambda grad: grad.clamp(-c, c)) for p in model.parameters()][0]",
    "handles = []\nfor p in model.parameters():\n    handles.append(p.register_hook(lambda grad: grad.clamp(-1.0, 1.0)))\nreturn handles",
    "for p in model.parameters():\n    p.register_hook(lambda grad: grad.clamp(-c, c))\nreturn []",
  ), ["len(add_clip_hooks(model, c))", "(with the hooks)", "(with the hooks)", "(with the hooks)", "(with the hooks)",
      "should be of type list", "(with the hooks)", "len(add_clip_hooks(model, c))"])),
 R: _fn(_CH,
    "handles = []\nfor p in model.parameters():\n    handles.append(p.register_hook(lambda g: torch.clamp(g, min=-c, max=c)))\nreturn handles",
    "def clip(grad):\n    return grad.clamp(-c, c)\nreturn list(map(lambda p: p.register_hook(clip), model.parameters()))",
    "return [p.register_hook(lambda g, c=c: torch.where(g.abs() > c, c * g.sign(), g)) for p in model.parameters()]"),
}

_EV = "def evaluate(model, x, y):"
CASES["08_training"]["ex5"] = {
 W: list(zip(_fn(_EV,
    "with torch.no_grad():\n    return F.mse_loss(model(x), y)",
    "was = model.training\nmodel.eval()\nloss = F.mse_loss(model(x), y)\nmodel.train(was)\nreturn loss",
    "was = model.training\nmodel.eval()\nloss = F.mse_loss(model(x), y).detach()\nmodel.train(was)\nreturn loss",
    "model.eval()\nwith torch.no_grad():\n    return F.mse_loss(model(x), y)",
    "model.eval()\nwith torch.no_grad():\n    loss = F.mse_loss(model(x), y)\nmodel.train()\nreturn loss",
    "was = model.training\nmodel.eval()\nwith torch.no_grad():\n    loss = F.mse_loss(model(x), y)\nmodel.train(was)\nreturn loss.item()",
    "was = model.training\nmodel[1].eval()\nwith torch.no_grad():\n    loss = F.mse_loss(model(x), y)\nmodel.train(was)\nreturn loss",
    "was = model.training\nmodel.eval()\ntorch.set_grad_enabled(False)\nloss = F.mse_loss(model(x), y)\nmodel.train(was)\nreturn loss",
  ), ["evaluate(model, x, y)", "still records a computation graph", "int(torch.is_grad_enabled())",
      "int(model.training) after evaluate", "int(model.training) after evaluate", "should be a torch tensor",
      "evaluate(model, x, y)", "grad mode"])),
 R: _fn(_EV,
    "was = model.training\ntry:\n    model.eval()\n    with torch.no_grad():\n        return F.mse_loss(model(x), y)\nfinally:\n    model.train(was)",
    "mode = model.training\nmodel.train(False)\nwith torch.inference_mode():\n    loss = ((model(x) - y) ** 2).mean()\nif mode:\n    model.train()\nreturn loss"),
}


# "lesson-exN-wrongI" -> what the message should say instead. Messages live in gradcoach (the lead's).
MISDIAGNOSED = {
}
