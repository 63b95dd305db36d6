"""What the runbooks need to know about the delivered files, read from those files.

The rollback table comes from the delivered rollback.sh, whether it restores the image tag from
its text, the maintenance switch and the database from the templates: a runbook that quotes the
delivery cannot describe a script or a parameter that is not there.
"""

from __future__ import annotations

import re

from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.deliver.runbook import DatabaseFacts, DbAdminTask, MaintenanceSwitch
from sre_agent.environments import is_prod
from sre_agent.task.delivered import AlarmRow, Delivered

_MAINTENANCE = re.compile(r"maintenance", re.IGNORECASE)


def restores_image_tag(rollback_script: str) -> bool:
    """rollback.sh writes the recorded tag back to SSM itself (a real `aws ssm put-parameter`
    call, not a comment), so the runbook needs no manual SSM step."""
    return any(re.match(r"\s*(?:if\s+!?\s*)?aws\s+ssm\s+put-parameter\b", line)
               for line in rollback_script.splitlines() if not line.lstrip().startswith("#"))


def rollback_takes_release(rollback_script: str) -> bool:
    """rollback.sh's usage names a release to go back to (a record or a Git release tag)."""
    return bool(re.search(r"^#\s+scripts/rollback\.sh <env> <stack> \[<release>\]", rollback_script, re.MULTILINE))


def resyncs_failed_update(execute_script: str) -> bool:
    """execute-changeset.sh calls its SSM resync when CloudFormation rolled a failed update back
    (a real call in the UPDATE_ROLLBACK_COMPLETE branch, not a comment)."""
    branch = re.search(r'if \[\[ "\$STATUS" == UPDATE_ROLLBACK_COMPLETE \]\]; then\n(.*?)\n\s*fi\n', execute_script, re.DOTALL)
    return bool(branch and re.search(r"^\s*resync_\w+\s*$", branch.group(1), re.MULTILINE))


def database_facts(delivered: Delivered, plan: DeliveryPlan) -> DatabaseFacts | None:
    """The stateful stack's RDS instance and the output that names it."""
    for stack in plan.stacks:
        template = next((t for t in delivered.project.templates if t.path == stack.template), None)
        if template is None:
            continue
        for db in template.of_type("AWS::RDS::DBInstance"):
            outputs = template.data.get("Outputs") or {}
            for key, output in outputs.items() if isinstance(outputs, dict) else []:
                if isinstance(output, dict) and output.get("Value") == {"Ref": db.logical_id}:
                    engine = str(db.properties.get("Engine", ""))
                    return DatabaseFacts(stack.name, str(key), engine)
    return None


def registry_output(delivered: Delivered, plan: DeliveryPlan) -> tuple[str, str] | None:
    """The stack that owns the ECR repository and the output naming its URI: the runbook copies
    an image from one environment's repository to the next by digest."""
    for stack in plan.stacks:
        template = next((t for t in delivered.project.templates if t.path == stack.template), None)
        if template is None:
            continue
        for repo in template.of_type("AWS::ECR::Repository"):
            outputs = template.data.get("Outputs") or {}
            for key, output in outputs.items() if isinstance(outputs, dict) else []:
                value = output.get("Value") if isinstance(output, dict) else None
                if value == {"Fn::GetAtt": [repo.logical_id, "RepositoryUri"]} or value == {"Fn::GetAtt": f"{repo.logical_id}.RepositoryUri"}:
                    return stack.name, str(key)
    return None


def _export_suffixes(values: object) -> list[str]:
    """`Fn::ImportValue: !Sub ${ProjectName}-${Environment}-AppSubnet1Id` → `AppSubnet1Id`."""
    found = []
    for value in values if isinstance(values, list) else []:
        imported = value.get("Fn::ImportValue") if isinstance(value, dict) else None
        text = imported.get("Fn::Sub") if isinstance(imported, dict) else None
        if isinstance(text, str) and (m := re.fullmatch(r"\$\{\w+\}-\$\{\w+\}-(\w+)", text)):
            found.append(m.group(1))
    return found


def db_admin_task(delivered: Delivered, plan: DeliveryPlan) -> DbAdminTask | None:
    """A task definition a stack outputs that no ECS service runs: the one-off DB admin task,
    with the network the service uses (the DB admits the app security group only)."""
    for stack in plan.stacks:
        template = next((t for t in delivered.project.templates if t.path == stack.template), None)
        if template is None:
            continue
        services = list(template.of_type("AWS::ECS::Service"))
        run_by_service = {str(s.properties.get("TaskDefinition", {}).get("Ref", "")) for s in services
                          if isinstance(s.properties.get("TaskDefinition"), dict)}
        outputs = template.data.get("Outputs") or {}
        by_ref = {o.get("Value", {}).get("Ref"): k for k, o in outputs.items()
                  if isinstance(o, dict) and isinstance(o.get("Value"), dict)} if isinstance(outputs, dict) else {}
        cluster = next((by_ref[c.logical_id] for c in template.of_type("AWS::ECS::Cluster") if c.logical_id in by_ref), None)
        for task in template.of_type("AWS::ECS::TaskDefinition"):
            if task.logical_id in run_by_service or task.logical_id not in by_ref or cluster is None:
                continue
            containers = [c for c in task.properties.get("ContainerDefinitions") or [] if isinstance(c, dict)]
            if not containers:
                continue
            network = {}
            for service in services:
                config = (service.properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
                if isinstance(config, dict):
                    network = config
                    break
            service_output = next((k for k, o in outputs.items() for s in services if isinstance(o, dict)
                                   and o.get("Value") in ({"Fn::GetAtt": [s.logical_id, "Name"]}, {"Ref": s.logical_id})), "")
            options = (containers[0].get("LogConfiguration") or {}).get("Options") or {}
            group = options.get("awslogs-group")
            return DbAdminTask(stack.name, by_ref[task.logical_id], cluster, str(containers[0].get("Name", "")),
                               _export_suffixes(network.get("Subnets")), _export_suffixes(network.get("SecurityGroups")),
                               str(group.get("Ref", "")) if isinstance(group, dict) else str(group or ""),
                               str(options.get("awslogs-stream-prefix", "")), str(service_output))
    return None


_APP_FACING = ("AWS/ECS", "AWS/ApplicationELB", "メトリクス計算", "複合アラーム")


def notifying_alarms(alarms: list[AlarmRow]) -> list[str]:
    """Alarms that send to a topic themselves (not only through a composite)."""
    return [a.name for a in alarms if a.notify and "複合アラーム経由" not in a.notify]


def maintenance_alarms(alarms: list[AlarmRow]) -> list[str]:
    """Notifying alarms on the service's own metrics: with the tasks stopped on purpose their
    data goes missing or the load balancer answers 503, so they would page during the work."""
    notifying = set(notifying_alarms(alarms))
    return [a.name for a in alarms if a.name in notifying and a.metric.startswith(_APP_FACING)]


def maintenance_switch(delivered: Delivered, plan: DeliveryPlan, stack_name: str) -> MaintenanceSwitch | None:
    """A `…Maintenance…` parameter with true/false values in the application stack's template."""
    stack = next((s for s in plan.stacks if s.name == stack_name), None)
    template = next((t for t in delivered.project.templates if stack and t.path == stack.template), None)
    if stack is None or template is None:
        return None
    prod = next((e for e in stack.parameters if is_prod(e)), None)
    for name, body in template.parameters.items():
        if not _MAINTENANCE.search(name) or not isinstance(body, dict):
            continue
        allowed = [str(v) for v in body.get("AllowedValues") or []]
        on = next((v for v in allowed if v.lower() in ("true", "enabled", "on", "yes")), "true")
        off = next((v for v in allowed if v.lower() in ("false", "disabled", "off", "no")), "false")
        if prod is None:
            return MaintenanceSwitch(stack.template, name, on, off)
        return MaintenanceSwitch(stack.parameters[prod], name, on, off)
    return None




_CIDR = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b")


_DETECT_WITHIN = re.compile(r"(\d+)\s*分以内に検知")
_EVALUATION = re.compile(r"(\d+)秒 × (\d+)回(?:中(\d+)回)?")
# what a user notices: the load balancer's errors and latency (not CPU or storage trends)
_USER_FACING = ("AWS/ApplicationELB", "メトリクス計算")


def detection_gap(documents_text: str, alarms: list[AlarmRow]) -> str:
    """The requirement "N 分以内に検知" against the notifying user-facing alarms that cannot
    fire that fast (period × datapoints to alarm), as one line for the architect; else ""."""
    required = _DETECT_WITHIN.search(documents_text)
    if required is None:
        return ""
    limit = int(required.group(1))
    slow = []
    for alarm in alarms:
        window = _EVALUATION.search(alarm.evaluation)
        if alarm.composite or window is None or "複合アラーム経由" in alarm.notify \
                or not alarm.metric.startswith(_USER_FACING):
            continue
        minutes = int(window.group(1)) * int(window.group(3) or window.group(2)) / 60
        if minutes > limit:
            slow.append(f"{alarm.name}（最短 {minutes:g} 分）")
    if not slow:
        return ""
    return (f"要件「{required.group(0)}」に対し、設計書の評価期間では次のアラームが {limit} 分以内に発報しない: "
            f"{'、'.join(slow)}。閾値・評価期間は設計書のとおりにした（短い期間の追加か要件の見直しが必要）")


def design_discrepancies(notes: list[str], documents_text: str, parameter_values: dict[str, str],
                         release_tag: str, alarms: list[AlarmRow] | None = None,
                         rollback_takes_release: bool = False) -> list[str]:
    """Where the delivery departs from the design documents, for the architect to confirm:
    the spec reader's notes on values it did not take as written (`notes`: the lines that quote a
    document location), subnets the documents' tables do not list, alarms slower than the
    documents' detection requirement, and a release tag rollback.sh does not take.
    `parameter_values`: the production parameter files' key → value."""
    found = list(notes)
    written = set(_CIDR.findall(documents_text))
    if written:
        extra = [f"{key} {value}" for key, value in parameter_values.items()
                 if "subnet" in key.lower() and _CIDR.fullmatch(value) and value not in written]
        if extra:
            found.append(f"設計書のサブネット表にないサブネットを作る: {'、'.join(extra)}"
                         "（データ層を分けるため。設計書の表への追記が必要）")
    if gap := detection_gap(documents_text, alarms or []):
        found.append(gap)
    if release_tag and not rollback_takes_release:
        found.append(f"設計書はリリースタグ `{release_tag}` を指定したロールバックを求めるが、rollback.sh は "
                     "`.releases/` の記録（execute-changeset.sh が成功ごとに残す）から戻し先を選ぶ。タグは手順書で"
                     "記録のコミットと一緒に付ける（設計書の記述の更新が必要）")
    return found


_ORDER = re.compile(r"\b([a-z][a-z0-9-]*)(?:\s*→\s*[a-z][a-z0-9-]*){2,}")


def _where(lines: list[tuple[str, int, str]], pattern: str) -> tuple[str, str] | None:
    """The first document line matching `pattern`: (`file:line`, the line)."""
    return next(((f"{path}:{number}", text) for path, number, text in lines if re.search(pattern, text)), None)


def delivery_deviations(delivered: Delivered, plan: DeliveryPlan, lines: list[tuple[str, int, str]],
                        execute_script: str = "", app_user: str = "") -> list[str]:
    """Design changes the delivery makes on its own account, read from the delivered files and
    checked against the documents (`lines`: path, number, text), for the architect to approve:
    an extra stack in the deploy order, per-stack parameter files, an application DB login with
    its own secret, a budget only in some environments, alarms the monitoring table lacks and
    Git tags beyond the design's release tag."""
    text = "\n".join(line for _, _, line in lines)
    found = []
    names = [s.name for s in plan.stacks]
    for place, line in [(f"{p}:{n}", t) for p, n, t in lines if _ORDER.search(t)][:1]:
        order = [w.strip() for w in _ORDER.search(line).group(0).split("→")]
        extra = [n for n in names if n not in order]
        if order != [n for n in names if n in order] or extra:
            found.append(f"デプロイ順序: 設計書は {' → '.join(order)}（{place}）、納品は {' → '.join(names)}"
                         + (f"（{'・'.join(extra)} スタックを追加）" if extra else "") + "。設計書の順序の更新が必要")
    if (shared := _where(lines, r"parameters/\S*(?:prd|prod|stg)\.json|^\W*(?:prd|stg)\.json\s*$")) \
            and any(len({files.get(e) for s in plan.stacks for files in [s.parameters]}) > 1 for e in plan.environments):
        found.append(f"パラメータファイル: 設計書は環境ごとに 1 ファイル（{shared[0]}）、納品はスタックごと"
                     f"（infra/parameters/<環境>/<スタック>.json）。設計書の構成の更新が必要")
    secrets = [(t.path, r.logical_id) for t in delivered.project.templates for r in t.of_type("AWS::SecretsManager::Secret")]
    if secrets and app_user and app_user not in text:
        cost = _where(lines, r"シークレット")
        found.append(f"アプリ用の DB ログイン {app_user} と専用のシークレット（{secrets[0][0]} の {secrets[0][1]}）を追加した。"
                     "アプリはローテーションされるマスターユーザーのシークレットを使わない。設計書はマスターユーザーの管理シークレットだけ"
                     + (f"（{cost[0]}）" if cost else "") + "で、シークレットが 1 件増え、初回デプロイに DB ユーザーの作成が加わる")
    budgets = [(t.path, r) for t in delivered.project.templates for r in t.of_type("AWS::Budgets::Budget")
               if r.body.get("Condition")]
    if budgets:
        stg = _where(lines, r"(?:ステージング|stg).*別枠|別枠.*(?:ステージング|stg)")
        found.append(f"AWS Budgets は本番だけに作り、コストフィルタなしでアカウント全体を対象にした（{budgets[0][0]}）。"
                     + (f"設計書のステージングの別枠（{stg[0]}）は実装していない。" if stg else "")
                     + "ステージングが本番と別アカウントであることが前提（同じアカウントなら予算の分け方の決定が必要）")
    burn = [a.name for a in delivered.alarms if a.burn_rate]
    if burn and not re.search(r"バーンレート|burn", text, re.IGNORECASE):
        composite = [a.name for a in delivered.alarms if a.burn_rate and a.composite]
        found.append(f"設計書の監視項目にない SLO バーンレートアラームを追加した（通知する複合アラーム {len(composite)} 件: "
                     f"{'、'.join(composite)}、その窓のアラーム {len(burn) - len(composite)} 件）。監視設計への追記が必要")
    stack_tag = re.search(r'^\s*TAG="(release/\$\w+/\$STACK/\$\w+)"', execute_script, re.MULTILINE)
    if stack_tag:
        design = _where(lines, r"release/\w+/<")
        named = re.search(r"release/[^`\s]+", design[1]).group(0) if design else ""
        found.append("execute-changeset.sh はスタックごとの Git タグ release/<環境>/<スタック>/<UTC 時刻> を付ける"
                     + (f"（設計書のリリースタグ {named}（{design[0]}）に加えて）" if design else "")
                     + "。rollback.sh の戻し先の指定に使える。設計書への追記が必要")
    return found


__all__ = ["resyncs_failed_update", "db_admin_task", "delivery_deviations", "registry_output", "notifying_alarms", "maintenance_alarms", "restores_image_tag", "database_facts", "maintenance_switch", "design_discrepancies", "detection_gap",
           "rollback_takes_release"]
