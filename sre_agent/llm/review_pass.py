"""The LLM pass: context → (split) requests → validated, evidence-checked findings.

Safe by construction:
- what is sent is chosen by the role's limits and redacted (context.py, redact.py);
- the static prefix (role, perspectives, rule catalogue, standards) is one system block marked
  `cache_control: ephemeral`, so the 2nd..nth request of a split pass reads it from the cache;
- the project is data between delimiters; the model answers in structured output
  (`output_config.format`, the JSON schema of `LlmReview`), validated strictly; an invalid
  answer is asked again once with the validation errors, then the pass fails;
- the request carries nothing a current model refuses (see config.py), and a refusal or an
  answer cut at `max_tokens` fails the pass with that reason, never as an empty review;
- a project over the input budget is split by stack / document group, and the appendix says
  what was sent and what was not — never a silent truncation;
- every evidence reference is verified (verify.py), and a model-only ❌ without a deterministic
  finding on the same resource is lowered to ⚠️: the model alone never fails a project. The
  findings are only *added*: the caller recomputes the verdict over deterministic + llm findings.
Any failure (API error after the SDK's retries, time budget, invalid output, refusal) fails the
whole pass: no llm finding is kept, `used` is false, `LlmStatus.error` says why, the
deterministic review stands.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass

from pydantic import ValidationError

from sre_agent.llm.backend import LlmCallError, MessagesBackend, Reply
from sre_agent.llm.config import LlmSettings, request_cost
from sre_agent.llm.context import ContextFile, ProjectContext, neutralise, select_context
from sre_agent.llm.prompts import bundled_standards, render
from sre_agent.llm.redact import Redactor, flagged_lines
from sre_agent.llm.schema import LlmReview, clipped, output_format
from sre_agent.llm.verify import NEAR, cap_uncorroborated, findings_from
from sre_agent.models import Finding, LlmStatus, Perspective
from sre_agent.project import Project

LOG = logging.getLogger("sre_agent.llm")
CACHE = {"type": "ephemeral"}
PLAN_MARGIN = 0.05   # room for the part header and a validation retry turn
ASK_SERVER_ABOVE = 0.5   # of the input budget: below it the estimate decides alone
COUNT_TIMEOUT = 15.0     # seconds: a count that takes longer is not worth waiting for


class LlmPassError(Exception):
    pass


def estimate_tokens(text: str) -> int:
    """The fallback when the server cannot count: ~4 characters per token for ASCII (the usual
    rule of thumb), but one token per non-ASCII character — Japanese runs close to one token
    per character, so a plain chars/4 would under-count our documents about 3x."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return ascii_chars // 4 + (len(text) - ascii_chars) + 1


def system_blocks(standards_dir: str | None = None, redactor: Redactor | None = None) -> list[dict]:
    """The cached prefix. A project's own standards (`--standards`) are its files like any
    other: redacted before they are sent."""
    from sre_agent.rules.base import all_rules

    rules = [{"id": r.id, "perspective": r.perspective.value, "severity": r.severity.value,
              "name": r.name, "title": r.title_ja} for r in all_rules()]
    standards = bundled_standards(standards_dir)
    if redactor is not None:
        standards = [{**s, "text": redactor.redact(f"standards/{s['name']}", s["text"])}
                     for s in standards]
    text = render("system.md.j2", rules=rules, standards=standards)
    return [{"type": "text", "text": text, "cache_control": CACHE}]


def findings_for_prompt(findings: list[Finding], redact) -> list[dict]:
    """The deterministic findings as the model sees them (redacted: messages quote values)."""
    return [{"id": f.id, "severity": f.severity.value, "location": f.location() or "(project)",
             "resource": f.resource,
             "text": neutralise(redact("findings", f"{f.title} — {f.message}"))}
            for f in findings if not f.suppressed]


FACT_KINDS = {"availability": "稼働率", "slos": "SLO", "recovery": "RTO/RPO", "redundancy": "冗長化",
              "sizes": "サイズ", "budgets": "予算", "monitoring": "監視", "checklist": "完了チェック"}
MAX_FACTS = 80


def document_facts(project: Project, context: ProjectContext) -> list[dict]:
    """Deep mode's cross-document facts (sre_agent.docfacts: what the design documents state,
    with file:line), sent in every request so a split pass can still compare documents."""
    try:
        from sre_agent.docfacts import facts_of

        facts = facts_of(project)
    except Exception:
        LOG.debug("document facts unavailable", exc_info=True)
        return []
    rows: list[dict] = []
    for name, kind in FACT_KINDS.items():
        for fact in getattr(facts, name, []):
            if not context.covers(fact.where.file, fact.where.line):
                continue      # from a section the role does not read: not sent
            text = getattr(fact, "text", None) or getattr(fact, "context", None) or " / ".join(
                str(getattr(fact, attr)) for attr in ("name", "metric", "target", "threshold", "period")
                if getattr(fact, attr, None))
            rows.append({"where": str(fact.where), "kind": kind, "text": text})
    for table in getattr(facts, "cost_tables", []):
        if table.total is not None and context.covers(table.total.where.file,
                                                      table.total.where.line):
            amounts = ", ".join(m.text for m in table.total.amounts if m is not None)
            rows.append({"where": str(table.total.where), "kind": "コスト合計",
                         "text": f"{table.title}: {amounts}"})
    unique = {(r["where"], r["text"]): r for r in rows}
    return [{**r, "text": neutralise(context.redactor.redact("facts", r["text"]))}
            for r in list(unique.values())[:MAX_FACTS]]


def user_message(files: list[ContextFile], shown: list[dict], *, deep: bool, lang: str,
                 part: int = 1, part_count: int = 1, facts: list[dict] | None = None) -> str:
    groups = sorted({f.group for f in files})
    return render("project.md.j2", deep=deep, lang=lang, findings=shown, files=files,
                  part=part, part_count=part_count, groups=groups, facts=facts or [])


_NUMBERED = re.compile(r"^\s*(\d+)\| ?(.*)$")


def sent_lines(numbered: str) -> dict[int, str]:
    """Line number → the text the model saw, read back from `context.numbered_lines`."""
    return {int(m.group(1)): m.group(2) for line in numbered.split("\n")
            if (m := _NUMBERED.match(line))}


@dataclass
class Batch:
    files: list[ContextFile]


class LlmPass:
    def __init__(self, project: Project, findings: list[Finding], settings: LlmSettings,
                 backend: MessagesBackend, lang: str = "ja") -> None:
        self.project, self.findings, self.settings = project, findings, settings
        self.backend, self.lang = backend, lang
        self.status = LlmStatus(used=False, model=settings.model)
        self.deadline = time.monotonic() + settings.budget
        self.context: ProjectContext = select_context(project, flagged=flagged_lines(findings))
        self.system = system_blocks(settings.standards_dir, self.context.redactor)
        self.output_config: dict = {"format": output_format()}
        if settings.effort:
            self.output_config["effort"] = settings.effort
        self.shown = findings_for_prompt(findings, self.context.redactor.redact)
        self.facts = document_facts(project, self.context) if settings.deep else []
        self.cost: float | None = 0.0

    # -- sizing ------------------------------------------------------------------------
    def _message(self, files: list[ContextFile], part: int = 1, count: int = 1) -> str:
        return user_message(files, self.shown, deep=self.settings.deep, lang=self.lang,
                            part=part, part_count=count, facts=self.facts)

    def count(self, files: list[ContextFile]) -> int:
        """Tokens of a request with these files. The server is asked only when the answer can
        matter — the local estimate (generous for Japanese: a token per character) is over
        half the input budget — and only until it fails once: a failure, a 404 (a gateway
        without the endpoint) or an answer that is not a token count falls back to the estimate
        for the rest of the pass. Counting is an optimisation, never a reason to fail or wait."""
        messages = [{"role": "user", "content": self._message(files)}]
        text = (self.system[0]["text"] + json.dumps(self.output_config, ensure_ascii=False)
                + messages[0]["content"])
        estimate = estimate_tokens(text)
        if self.status.token_count is None and estimate <= self.settings.max_input_tokens * ASK_SERVER_ABOVE:
            self.status.token_count = "estimate"
        if self.status.token_count == "estimate":
            return estimate
        try:
            tokens = self.backend.count_tokens(
                model=self.settings.model, system=self.system, messages=messages,
                output_config=self.output_config,
                timeout=min(self.settings.timeout, COUNT_TIMEOUT, self._remaining()))
            if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
                raise ValueError(f"count_tokens answered {tokens!r}")
        except LlmPassError:
            raise
        except Exception as exc:    # noqa: BLE001 — any failure means: estimate
            LOG.debug("count_tokens unavailable, estimating: %s", exc)
            self.status.token_count = "estimate"
            return estimate
        self.status.token_count = "server"
        return tokens

    def plan(self) -> list[Batch]:
        """One request when it fits; else groups (a stack, a document folder, the scripts)
        packed into requests; a group too big alone goes file by file; a file too big alone
        is not sent, and says so."""
        files = self.context.files
        budget = int(self.settings.max_input_tokens * (1 - PLAN_MARGIN))
        if self.count(files) <= budget:
            return [Batch(files)]
        base = self.count([])
        if base >= budget:
            raise LlmPassError(f"the fixed part of the prompt ({base:,} tokens: role, findings, "
                               f"facts) leaves no room within {budget:,} tokens")
        groups: dict[str, list[ContextFile]] = {}
        for f in files:
            groups.setdefault(f.group, []).append(f)
        units: list[tuple[list[ContextFile], int]] = []
        for members in groups.values():
            size = self.count(members) - base
            if base + size <= budget:
                units.append((members, size))
                continue
            for f in members:
                size = self.count([f]) - base
                if base + size <= budget:
                    units.append(([f], size))
                else:
                    self.context.not_sent.append(
                        f"{f.path} — too large for one request ({size:,} tokens > "
                        f"{budget - base:,} available)")
        batches: list[Batch] = []
        used = budget
        for members, size in units:
            if used + size > budget:
                batches.append(Batch([]))
                used = base
            batches[-1].files.extend(members)
            used += size
        return batches

    # -- requests ----------------------------------------------------------------------
    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LlmPassError(f"time budget of {self.settings.budget:.0f}s exhausted")
        return left

    def _send(self, messages: list[dict]) -> Reply:
        # every SDK retry gets the same timeout: share what is left of the budget among them
        timeout = min(self.settings.timeout,
                      self._remaining() / (self.settings.max_retries + 1))
        self.status.requests += 1
        reply = self.backend.create(model=self.settings.model,
                                    max_tokens=self.settings.max_output_tokens,
                                    system=self.system, messages=messages,
                                    output_config=self.output_config, timeout=timeout,
                                    deadline=self.deadline)
        usage = reply.usage
        for field in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"):
            setattr(self.status, field, getattr(self.status, field) + getattr(usage, field))
        cost = request_cost(self.settings.model, usage.input_tokens, usage.output_tokens,
                            usage.cache_read_tokens, usage.cache_creation_tokens)
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        return reply

    def _answer(self, reply: Reply) -> LlmReview:
        """The structured answer, or why there is none. A refusal or a cut-off answer is not
        retried: the same request would end the same way."""
        if reply.stop_reason == "refusal":
            raise LlmPassError("the model declined to answer (stop_reason: refusal)")
        if reply.stop_reason == "model_context_window_exceeded":
            raise LlmPassError("the request and answer outgrew the model's context window: lower "
                               "SRE_AGENT_LLM_MAX_INPUT_TOKENS so the project is split")
        if reply.stop_reason == "max_tokens":
            raise LlmPassError(
                f"the answer was cut off at max_tokens={self.settings.max_output_tokens:,} "
                "(thinking counts against it): raise SRE_AGENT_LLM_MAX_OUTPUT_TOKENS or lower "
                "SRE_AGENT_LLM_EFFORT")
        try:
            data = json.loads(reply.text())
        except ValueError:
            return LlmReview.model_validate_json(reply.text())   # raises: not JSON at all
        return LlmReview.model_validate(clipped(data))

    def ask(self, batch: Batch, part: int, count: int) -> LlmReview:
        messages: list[dict] = [{"role": "user", "content": self._message(batch.files, part, count)}]
        for attempt in range(1, self.settings.validation_retries + 2):
            reply = self._send(messages)
            try:
                return self._answer(reply)
            except ValidationError as exc:
                errors = str(exc)
                if attempt > self.settings.validation_retries:
                    raw = (reply.text() or json.dumps(reply.content, ensure_ascii=False))[:300]
                    raise LlmPassError(f"invalid structured output after {attempt} attempts: "
                                       f"{errors.splitlines()[0]}; last reply: {raw}") from exc
                # the conversation ends with our turn: no prefill, and only the answer's text
                # goes back (thinking blocks are not needed to correct a JSON answer)
                messages.append({"role": "assistant", "content": [
                    {"type": "text", "text": reply.text() or "(empty)"}]})
                messages.append({"role": "user", "content": render(
                    "retry.md.j2", attempt=attempt, errors=errors)})
        raise AssertionError("unreachable")

    def run(self) -> list[Finding]:
        batches = self.plan()
        sent = {f.path for batch in batches for f in batch.files}
        self.status.sent = [f"{f.path} ({f.sent_lines} lines{', infra sections' if f.excerpt else ''})"
                            for f in self.context.files if f.path in sent]
        self.status.not_sent = list(self.context.not_sent)
        numbering: dict[Perspective, int] = {}
        found: list[Finding] = []
        for part, batch in enumerate(batches, start=1):
            review = self.ask(batch, part, len(batches))
            new, rejected = findings_from(review, self.project, self._sent_in(batch), self.lang,
                                          numbering)
            found += new
            self.status.rejected_evidence += rejected
        self.status.lowered = cap_uncorroborated(found, self.findings, self.lang)
        self.status.used = True
        return found

    def _sent_in(self, batch: Batch):
        """What the model saw in this request, line by line as it saw it (redacted): the
        batch's files, and the fact lines (the facts block is in every request, so a split
        pass can cite them from any part)."""
        shown = {f.path: sent_lines(f.numbered) for f in self.context.files}
        in_batch = {f.path for f in batch.files}
        fact_lines = {(fact["where"].rsplit(":", 1)[0], int(fact["where"].rsplit(":", 1)[1]))
                      for fact in self.facts}

        def sent(path: str, line: int) -> str | None:
            if path in in_batch or any((path, near) in fact_lines
                                       for near in range(line - NEAR, line + NEAR + 1)):
                return shown.get(path, {}).get(line)
            return None
        return sent

    def finish(self) -> None:
        redactor = self.context.redactor
        self.status.redactions = sum(redactor.counts.values())
        self.status.redactions_by_kind = dict(getattr(redactor, "by_kind", {}))
        if self.status.requests and self.cost is not None:
            self.status.estimated_cost_usd = round(self.cost, 4)


def run_llm_pass(project: Project, findings: list[Finding], settings: LlmSettings,
                 backend: MessagesBackend | None = None, lang: str = "ja"
                 ) -> tuple[LlmStatus, list[Finding]]:
    """The pass as the review core calls it; never raises for an API or model problem."""
    if not settings.enabled:
        return LlmStatus(used=False, reason=settings.reason), []
    try:
        if backend is None:
            from sre_agent.llm.backend import AnthropicBackend

            backend = AnthropicBackend(settings.timeout, settings.max_retries)
        llm_pass = LlmPass(project, findings, settings, backend, lang)
    except Exception as exc:     # SDK missing or misconfigured: say so, review stands
        LOG.debug("LLM pass could not start", exc_info=True)
        return LlmStatus(used=False, reason=f"{type(exc).__name__}: {exc}"), []
    if not llm_pass.context.files:
        return LlmStatus(used=False, reason="nothing the SRE role may read (no IaC, scripts or "
                         "infra sections of design documents)",
                         not_sent=llm_pass.context.not_sent), []
    try:
        found = llm_pass.run()
    except (LlmCallError, LlmPassError) as exc:
        llm_pass.status.error = str(exc)
        found = []
    except Exception as exc:     # a bug of ours must not cost the deterministic review
        LOG.debug("LLM pass crashed", exc_info=True)
        llm_pass.status.error = f"internal error: {type(exc).__name__}: {exc}"
        found = []
    if llm_pass.status.error:
        llm_pass.status.used = False
        llm_pass.status.reason = "the LLM pass failed; the review is the deterministic one"
    llm_pass.finish()
    return llm_pass.status, found
