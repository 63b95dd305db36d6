"""Terraform modules: which directory calls which, and with what.

A child module is deployed with the arguments its caller's `module` block passes, never with
its own variable defaults; a root module (a directory no other directory calls) gets its
defaults overlaid by the tfvars meant for it — those inside its own directory, else the ones
kept beside it (`envs/prd.tfvars`). The same question as nested CloudFormation stacks, answered
the same way (`resolve.tf_contexts`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from sre_agent.parsing.terraform import TfBlock, TfFile, unwrap


def directory_of(path: str) -> str:
    return posixpath.dirname(path) or "."


@dataclass(frozen=True)
class ModuleCall:
    """A `module` block whose `source` is a directory of the project."""

    caller: TfFile
    block: TfBlock
    directory: str  # the called module's directory

    @property
    def place(self) -> str:
        return f"{self.caller.path}:{self.block.line}"


class TerraformModel:
    def __init__(self, files: list[TfFile], parameter_sets: list) -> None:
        self.files = files
        self.by_directory: dict[str, list[TfFile]] = {}
        for tf in files:
            self.by_directory.setdefault(directory_of(tf.path), []).append(tf)
        self.calls: list[ModuleCall] = []
        for tf in files:
            for block in tf.blocks:
                source = unwrap(block.body.get("source")) if block.kind == "module" else None
                if isinstance(source, str) and source.startswith((".", "/")) is True and not source.startswith("/"):
                    target = posixpath.normpath(posixpath.join(directory_of(tf.path), source))
                    if target in self.by_directory and target != directory_of(tf.path):
                        self.calls.append(ModuleCall(tf, block, target))
        self.tfvars = [p for p in parameter_sets if p.terraform]

    def callers(self, directory: str) -> list[ModuleCall]:
        return [call for call in self.calls if call.directory == directory]

    def files_in(self, directory: str) -> list[TfFile]:
        return self.by_directory.get(directory, [])

    def variables(self, directory: str) -> set[str]:
        return {b.name for tf in self.files_in(directory) for b in tf.blocks if b.kind == "variable"}

    def tfvars_for(self, directory: str) -> list:
        """The tfvars of a root module: its own directory's, else every one outside any module
        directory (`envs/prd.tfvars`, `environments/stg.tfvars`)."""
        own = [p for p in self.tfvars if directory_of(p.path) == directory]
        if own:
            return own
        return [p for p in self.tfvars if directory_of(p.path) not in self.by_directory]
