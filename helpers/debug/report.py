"""The report `diagnose` returns: findings (code, what was seen, likely cause, fix) as text and as a table."""

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Finding", "Report"]


@dataclass(frozen=True)
class Finding:
    """One problem: a short code, what was seen, the likely cause and the fix, in plain words."""

    code: str
    seen: str
    cause: str
    fix: str

    @property
    def message(self) -> str:
        """The whole finding as one paragraph: what was seen, the likely cause, the fix."""
        return f"{self.seen} Likely cause: {self.cause} Fix: {self.fix}"

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class Report:
    """The findings of `diagnose`; like a list, it is truthy when it holds findings (problems)."""

    def __init__(self, findings: list[Finding], losses: list[float], steps: int) -> None:
        self.findings, self.losses, self.steps = list(findings), list(losses), steps

    @property
    def codes(self) -> list[str]:
        """The findings' codes, in order."""
        return [f.code for f in self.findings]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __getitem__(self, index: int) -> Finding:
        return self.findings[index]

    def __bool__(self) -> bool:
        return bool(self.findings)

    def __contains__(self, item: object) -> bool:
        return item in self.codes or item in self.findings

    def _headline(self) -> str:
        """One line: how many problems in how many steps, and the losses seen."""
        losses = ", ".join(f"{v:.4g}" for v in self.losses) or "none"
        steps = f"{self.steps} step{'s' * (self.steps != 1)}"
        if not self.findings:
            return f"No problems found in {steps} (losses: {losses})."
        problems = f"{len(self)} problem{'s' * (len(self) != 1)}"
        return f"{problems} found after {steps} (losses: {losses}):"

    def __str__(self) -> str:
        parts = [self._headline()]
        for f in self.findings:
            parts.append(f"\n[{f.code}]\n  seen:  {f.seen}\n  cause: {f.cause}\n  fix:   {f.fix}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"Report(codes={self.codes}, steps={self.steps})"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        """What IPython shows as plain text (a notebook's text/plain output): the same as print(report)."""
        printer.text(str(self))

    def _repr_html_(self) -> str:
        """A table for notebooks: code, what was seen, the likely cause, the fix."""
        import html  # here, not at the top: `import helpers` stays as light as torch

        head = f"<p><b>{html.escape(self._headline())}</b></p>"
        if not self.findings:
            return head
        cell = '<td style="text-align:left; vertical-align:top">{}</td>'
        rows = "".join(
            "<tr>" + "".join(cell.format(html.escape(text)) for text in (f"{f.code}", f.seen, f.cause, f.fix)) + "</tr>"
            for f in self.findings
        )
        header = "".join(
            f'<th style="text-align:left">{h}</th>' for h in ("code", "what was seen", "likely cause", "fix")
        )
        return f"{head}<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
