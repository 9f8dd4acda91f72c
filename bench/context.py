"""What figures share during one run: the figures done so far, and how big to make each one."""

from dataclasses import dataclass, field

from bench.report import Figure


@dataclass
class Context:
    quick: bool = False  # a short smoke run (`python -m bench --quick`): smaller sizes, not comparable
    figures: dict[str, Figure] = field(default_factory=dict)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def duration(self, full: float, quick: float) -> float:
        return quick if self.quick else full
