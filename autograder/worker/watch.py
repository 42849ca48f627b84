"""Watching a student's training function run: its optimizer steps, zero_grad calls, optimizers and losses."""

from __future__ import annotations

import torch

LOSS_FUNCTIONS = {"nll_loss": "NLLLoss", "cross_entropy": "CrossEntropyLoss", "mse_loss": "MSELoss",
                  "l1_loss": "L1Loss", "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss",
                  "binary_cross_entropy": "BCELoss", "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
                  "kl_div": "KLDivLoss"}


class TrainingWatch:
    """Counts, while a student's function runs, the optimizer steps, the zero_grad calls (of optimizers or
    modules), and the types of optimizer and loss used: loss modules and their functional forms
    (``F.nll_loss`` is reported as NLLLoss), seen through a torch function mode."""

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_pre_hook
        from torch.overrides import TorchFunctionMode

        self.steps, self.zero_grads, self.optimizers, self.losses = 0, 0, set(), set()
        self._zero = (torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad)
        watch = self

        def optimizer_zero_grad(optimizer, *a, **k):
            watch.zero_grads += 1
            return watch._zero[0](optimizer, *a, **k)

        def module_zero_grad(module, *a, **k):
            watch.zero_grads += 1
            return watch._zero[1](module, *a, **k)

        def on_step(optimizer, args, kwargs):
            watch.steps += 1
            watch.optimizers.add(type(optimizer).__name__)

        def on_forward(module, args, output):
            if isinstance(module, torch.nn.modules.loss._Loss):
                watch.losses.add(type(module).__name__)

        class Losses(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                name = LOSS_FUNCTIONS.get(getattr(func, "__name__", ""))
                if name:
                    watch.losses.add(name)
                return func(*args, **(kwargs or {}))

        torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad = optimizer_zero_grad, module_zero_grad
        self._handles = [register_optimizer_step_pre_hook(on_step),
                         torch.nn.modules.module.register_module_forward_hook(on_forward)]
        self._mode = Losses()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        self._mode.__exit__(*exc)
        torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad = self._zero
        for handle in self._handles:
            handle.remove()
        return False

    def report(self) -> dict:
        return {"steps": self.steps, "zero_grads": self.zero_grads, "optimizers": sorted(self.optimizers),
                "losses": sorted(self.losses)}
