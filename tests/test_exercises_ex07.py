"""helpers.exercises.ex07 (notebook 07): starting code, solutions, right answers written differently, and plausible
wrong answers refused with a message."""

from __future__ import annotations

import helpers

from _exercises import ExerciseModule, verdict

X_TRAIN, Y_TRAIN, *_ = helpers.train_val_test_split(*helpers.make_line_data(), 0.8, 0.1)
A = "A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()"
MOVE = "    X, y = X.to(device), y.to(device)\n"
MODEL = "model = helpers.LinearRegressionModelV2().to(device)"
NOTHING_MOVED = '''def train_line(X, y, lr, epochs, device):
    helpers.set_seed(42)
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)
    return model
'''

# both factors of 2 dropped: the number comes out right, but H is half the Hessian
HALF_H = ("def lr_limit(X):\n"
          "    A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()\n"
          "    H = A.T @ A / len(A)\n"
          "    return 1 / torch.linalg.eigvalsh(H)[-1].item()\n")
CACHED_BY_SIZE = ("_LIMITS = {}\n"
                  "def lr_limit(X):\n"
                  "    n = len(X)\n"
                  "    if n not in _LIMITS:\n"
                  "        A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()\n"
                  "        _LIMITS[n] = 2 / torch.linalg.eigvalsh(2 * A.T @ A / len(A))[-1].item()\n"
                  "    return _LIMITS[n]\n")
STALE_OPTIMIZER = '''def train_line(X, y, lr, epochs, device):
    helpers.set_seed(42)
    model = helpers.LinearRegressionModelV2()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.to(device)
    X, y = X.to(device), y.to(device)
    for epoch in range(epochs):
        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)
    return model
'''

RIGHT_LOOP = '''def train_line(X, y, lr, epochs, device):
    helpers.set_seed(42)
    model = helpers.LinearRegressionModelV2()
    model.to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.SGD(params=model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        model.train()
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
'''


class TestEx07(ExerciseModule):
    module = "ex07"
    names = {"X_train": X_TRAIN, "y_train": Y_TRAIN}  # what the notebook defines before its exercises
    # (problem, an (old, new) edit of its solution or a whole answer, a fragment of the expected message)
    wrong = [
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = A.T @ A / len(A)"), "twice the right one"),
        ("q1", ("curvatures[-1]", "curvatures[0]"), "smallest curvature"),
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A.T @ A"), "times off"),
        ("q1", (A, "A = X.double()"), "column of ones"),
        ("q1", (A, "A = torch.cat([X, torch.ones_like(X)], dim=1).double()"), "columns of ones"),
        # the learner's read: A Aᵀ has AᵀA's largest eigenvalue, so the limit came out right from the wrong matrix
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A @ A.T / len(A)"), "that is A Aᵀ, not AᵀA"),
        ("q1", ("curvatures = torch.linalg.eigvalsh(H)", "curvatures = torch.linalg.eigh(2 * A @ A.T / len(A))[0]"),
         "not the Hessian"),
        ("q2", ("nn.MSELoss()", "nn.L1Loss()"), "from the closed form"),
        ("q2", (MOVE, "    X, y = X_train.to(device), y_train.to(device)\n"), "not the X given to train_line"),
        ("q2", ("    for epoch in range(epochs):\n", "    for epoch in range(1):\n"), "took 1 optimizer step:"),
        ("q2", ("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=lr)"),
         "your optimizer is Adam, not plain SGD"),
        ("q2", ("lr=lr)", "lr=lr, momentum=0.9)"), "your SGD has momentum=0.9"),
        ("q2", ("    helpers.set_seed(42)\n", ""), "seed 42 first"),
        ("q2", (MOVE, ""), "the data is not"),
        ("q2", (MOVE, "    X.to(device), y.to(device)\n"), "keep the result"),
        ("q2", (MODEL, "model = helpers.LinearRegressionModelV2()"), "move it with model.to(device)"),
        ("q2", NOTHING_MOVED, "stayed on the cpu"),
        # the learner's read: a hard-coded rate that is the check's own 0.5
        ("q2", ("lr=lr)", "lr=0.5)"), "asked for lr 0.2, your optimizer has lr=0.5"),
        # the learner's read: an optimizer over another model's parameters, and a loop that ignores epochs
        ("q2", ("torch.optim.SGD(model.parameters(), lr=lr)",
                "torch.optim.SGD(helpers.LinearRegressionModelV2().parameters(), lr=lr)"),
         "nothing updated that model"),
        ("q2", ("    for epoch in range(epochs):\n", "    for epoch in range(150):\n"),
         "more than 6 optimizer steps when the check stopped it"),
        ("q2", ("lr=lr)", "lr=0.01)"), "your optimizer has lr=0.01"),
        # the red team's read: H only a multiple of the Hessian, results kept between calls, X changed in place
        ("q1", HALF_H, "only because your return makes up for your H: your H is AᵀA/N, half the Hessian"),
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A.T @ A / len(A.T)"), "20 times the Hessian"),
        ("q1", ("H = 2 * A.T @ A / len(A)", "H = 2 * A.T @ A / (len(A) - 1)"), "1.026 times the Hessian"),
        ("q1", CACHED_BY_SIZE, "for 40 inputs from -1 to 3 lr_limit returned 0.8625, exactly what it returned for the"),
        ("q1", CACHED_BY_SIZE.replace("n = len(X)", "n = X.shape[1]"), "exactly what it returned for"),
        ("q1", "def lr_limit(X):\n    return 0.8625  # lr_max, printed by the aside\n", "no notebook variable"),
        ("q1", ("    return 2 / curvatures[-1].item()", "    X.mul_(0.5)\n    return 2 / curvatures[-1].item()"),
         "changed the X it was given, in place"),
        ("q1", (A, "X -= X.mean(0)\n    " + A), "changed the X it was given, in place"),
        ("q1", (A, "A = torch.cat([X - X.mean(0), torch.ones(len(X), 1)], dim=1).double()"),
         "you centred the inputs first"),
        ("q1", (A, "A = torch.cat([(X - X.mean(0)) / X.std(0), torch.ones(len(X), 1)], dim=1).double()"),
         "you standardised the inputs first"),
        ("q1", ("2 / curvatures[-1].item()", "2 / H.diagonal().max().item()"), "the largest diagonal entry of H"),
        ("q1", (A, "A = torch.cat([X[:-1], torch.ones(len(X) - 1, 1)], dim=1).double()"),
         "is not the Hessian 2/N AᵀA"),
        # the red team's read: the optimizer built before the move (on `meta` the parameters are replaced), and
        # what a step count, the model's class, its inputs and its start tell
        ("q2", STALE_OPTIMIZER, "on the `meta` device, the optimizer your run stepped holds other parameters"),
        ("q2", ("        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)\n",
                "        for i in range(len(X)):\n"
                "            helpers.train_step(model, X[i:i + 1], y[i:i + 1], nn.MSELoss(), optimizer)\n"),
         "each on 1 of the 40 points (one step per point)"),
        ("q2", (MOVE, "    X, y = X[:-1].to(device), y[:-1].to(device)\n"), "saw at most 39 of the 40 points"),
        ("q2", ("        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)\n",
                "        for i in range(0, len(X), 10):\n"
                "            helpers.train_step(model, X[i:i + 10], y[i:i + 10], nn.MSELoss(), optimizer)\n"),
         "each on 10 of the 40 points: an epoch here is one step on all 40"),
        ("q2", (MODEL, "model = helpers.LinearRegressionModel().to(device)"), "returned a LinearRegressionModel"),
        ("q2", ("        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)\n",
                "        helpers.train_step(model, X, y, nn.MSELoss(), optimizer)\n" * 2),
         "6 optimizer steps (2 an epoch)"),
        ("q2", ("range(epochs)", "range(1, epochs)"), "took 2 optimizer steps"),
        ("q2", (MODEL, "model = [helpers.LinearRegressionModelV2(), helpers.LinearRegressionModelV2().to(device)][1]"),
         "did not start from seed 42"),
        ("q2", ("lr=lr)", "lr=lr, weight_decay=1e-4)"), "weight_decay=0.0001"),
        ("q2", (MOVE, "    X, y = y.to(device), X.to(device)\n"), "not the X given to train_line"),
        ("q2", ("nn.MSELoss()", "nn.MSELoss(reduction='sum')"), "blew up to NaN or inf"),
        ("q2", "_MODELS = {}\n" + NOTHING_MOVED.replace(
            "    model = helpers.LinearRegressionModelV2()\n",
            "    if str(device) not in _MODELS:\n"
            "        _MODELS[str(device)] = helpers.LinearRegressionModelV2().to(device)\n"
            "    model = _MODELS[str(device)]\n    X, y = X.to(device), y.to(device)\n"),
         "the same model object on two calls"),
        ("q2", "model = helpers.LinearRegressionModelV2()  # the notebook's trained model\n"
         + NOTHING_MOVED.replace("    model = helpers.LinearRegressionModelV2()\n",
                                 "    model.to(device)\n    X, y = X.to(device), y.to(device)\n"),
         "was not built in this call"),
        # a loop of one's own on `meta`: a loss printed with .item(), or a model left where it was built
        ("q2", RIGHT_LOOP.replace("        optimizer.step()\n",
                                  "        optimizer.step()\n        last = loss.item()\n"),
         "your code called .item()"),
        ("q2", RIGHT_LOOP.replace("    model.to(device)\n", ""), "ended up on different devices"),
    ]


RIGHT_LIMITS = [
    # the column of ones first and float32 (H in another parameter order is still the Hessian)
    "def lr_limit(X):\n"
    "    A = torch.cat([torch.ones(X.shape[0], 1), X], dim=1)\n"
    "    H = 2 / X.shape[0] * A.T @ A\n"
    "    return 2 / torch.linalg.eigvalsh(H).max().item()\n",
    # no eigenvalues taken: the largest singular value of A, squared, is N/2 times λ_max
    "def lr_limit(X):\n"
    "    A = torch.nn.functional.pad(X.double(), (0, 1), value=1.0)\n"
    "    return len(A) / torch.linalg.svdvals(A)[0].item() ** 2\n",
    # the Hessian by autograd, the spectral norm of H, a mean of outer products
    "def lr_limit(X):\n"
    "    X = X.double()\n"
    "    N, k = X.shape\n"
    "    def loss(theta):\n"
    "        return ((X @ theta[:k].unsqueeze(1) + theta[k]) ** 2).mean()\n"
    "    H = torch.autograd.functional.hessian(loss, torch.zeros(k + 1, dtype=torch.float64))\n"
    "    return 2 / torch.linalg.eigvalsh(H)[-1].item()\n",
    "def lr_limit(X):\n"
    "    A = torch.column_stack([X, torch.ones(len(X))]).double()\n"
    "    return 2 / torch.linalg.matrix_norm(2 * A.T @ A / len(A), ord=2)\n",
    "def lr_limit(X):\n"
    "    A = torch.hstack([X, X.new_ones(X.shape[0], 1)]).double()\n"
    "    return float(2 / torch.linalg.eigvalsh(2 * torch.einsum('ni,nj->ij', A, A) / A.shape[0]).max())\n",
]
RIGHT_RUNS = [
    RIGHT_LOOP,  # a loop written out, the model moved by a statement of its own
    # torch.device, the functional loss, a while loop, momentum=0 written out
    "import torch.nn.functional as F\n"
    "def train_line(X, y, lr, epochs, device):\n"
    "    helpers.set_seed(42)\n"
    "    device = torch.device(device)\n"
    "    model = helpers.LinearRegressionModelV2().to(device=device)\n"
    "    X, y = (t.to(device) for t in (X, y))\n"
    "    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)\n"
    "    done = 0\n"
    "    while done < epochs:\n"
    "        helpers.train_step(model, X, y, F.mse_loss, optimizer)\n"
    "        done += 1\n"
    "    return model\n",
    # the model built on the device directly, a loss function defined outside
    "loss_fn = nn.MSELoss()\n"
    "def train_line(X, y, lr, epochs, device):\n"
    "    torch.manual_seed(42)\n"
    "    with torch.device(device):\n"
    "        model = helpers.LinearRegressionModelV2()\n"
    "    X, y = X.to(device), y.to(device)\n"
    "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n"
    "    for epoch in range(epochs):\n"
    "        helpers.train_step(model, X, y, loss_fn, optimizer)\n"
    "    return model\n",
]


def test_right_answers_written_differently_are_correct():
    """The red team's read: a Hessian with the ones first, routes without eigvalsh, and other ways to write the run."""
    for q, answers in (("q1", RIGHT_LIMITS), ("q2", RIGHT_RUNS)):
        for code in answers:
            result = verdict("ex07", q, code, TestEx07.names)
            assert result.state == "correct", (code, result)


def test_the_check_leaves_no_hook_behind():
    """q2 watches optimizer steps, forward passes and new parameters with global hooks: a refused answer, one that
    raises and a right one all remove them."""
    from torch.nn.modules import module
    from torch.optim import optimizer

    counts = (len(optimizer._global_optimizer_pre_hooks), len(module._global_forward_pre_hooks),
              len(module._global_parameter_registration_hooks))
    too_long = RIGHT_RUNS[0].replace("range(epochs)", "range(500)")
    for code in (RIGHT_RUNS[0], too_long, "def train_line(*a):\n    1 / 0\n"):
        verdict("ex07", "q2", code, TestEx07.names)
        assert (len(optimizer._global_optimizer_pre_hooks), len(module._global_forward_pre_hooks),
                len(module._global_parameter_registration_hooks)) == counts
