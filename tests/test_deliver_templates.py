"""Templates and parameter files written from an InfraSpec: from the clean scenario's design
documents, and from a structured spec file with ElastiCache. Each delivery is written once per
module into a tmp dir, checked with the real cfn-lint and reviewed by our own engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cfnlint.api import ManualArgs, lint_by_config

from sre_agent.deliver.infrastructure import burn_rate_context, write_infrastructure
from sre_agent.deliver.plan import DeliveryPlan
from sre_agent.deliver.spec import (
    InfraSpec, SpecError, prerequisites_of, spec_from_documents, spec_from_file,
)
from sre_agent.review import ReviewConfig, review
from sre_agent.rules.doc.doc009_unresolved_placeholder import PARAMETER_PLACEHOLDER, PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "fixtures/scenarios/clean-ecs-rds/docs"
CACHE_SPEC = ROOT / "fixtures/deliver/specs/order-api-with-cache.yaml"
CART_DOCS = ROOT / "fixtures/deliver/specs/cart-docs"  # 3 AZ, MySQL, Valkey, dev / stg / prod
# Rules about the deploy scripts, which a templates-only delivery does not contain yet.
SCRIPT_RULES = ("SRE-DEP-003",)


class _Cfn(yaml.SafeLoader):
    pass


_Cfn.add_multi_constructor("!", lambda loader, tag, node: {tag: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node, deep=True))})


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Cfn)  # noqa: S506 - SafeLoader subclass


def parameters(out: Path, relative: str) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in json.loads((out / relative).read_text())}


@pytest.fixture(scope="module")
def documents_delivery(tmp_path_factory) -> tuple[Path, DeliveryPlan]:
    out = tmp_path_factory.mktemp("from-documents")
    result = spec_from_documents([DOCS])
    return out, write_infrastructure(result.spec, out)


@pytest.fixture(scope="module")
def cache_delivery(tmp_path_factory) -> tuple[Path, DeliveryPlan]:
    out = tmp_path_factory.mktemp("from-spec-file")
    return out, write_infrastructure(spec_from_file(CACHE_SPEC), out)


@pytest.fixture(scope="module", params=["documents", "cache"])
def delivery(request, documents_delivery, cache_delivery) -> tuple[Path, DeliveryPlan]:
    return documents_delivery if request.param == "documents" else cache_delivery


# --- the spec read from the documents ---------------------------------------------------------

def test_documents_give_the_production_values_with_their_lines():
    result = spec_from_documents([DOCS])
    spec = result.spec
    prd, stg = spec.environment("prd"), spec.environment("stg")
    assert spec.project == "inventory" and [e.name for e in spec.environments] == ["stg", "prd"]
    assert spec.description == "在庫管理システム"
    assert (prd.db_multi_az, stg.db_multi_az) == (True, False)
    assert prd.db_instance_class == "db.t4g.medium" and prd.db_backup_retention_days == 14
    assert (prd.task_cpu, prd.task_memory, prd.min_capacity, prd.max_capacity) == (512, 1024, 2, 4)
    assert (stg.task_cpu, stg.task_memory, stg.min_capacity, stg.max_capacity) == (256, 512, 1, 2)
    assert prd.public_subnets == ["10.40.0.0/24", "10.40.1.0/24"]
    assert spec.health_check_path == "/actuator/health" and spec.health_check_grace_seconds == 90
    assert (spec.database.engine, spec.database.engine_version) == ("postgres", "17.6")
    assert (spec.slo.availability_percent, spec.slo.error_rate_percent, spec.slo.latency_p95_ms) == (99.9, 0.1, 500)
    assert spec.alarms.rds_connections == 360
    assert result.origin("environments.prd.db_multi_az").endswith("03_基本設計/04_可用性設計.md:15")
    assert result.origin("environments.stg.db_multi_az").endswith("03_基本設計/04_可用性設計.md:36")
    assert result.origin("slo.error_rate_percent").endswith("03_基本設計/05_監視設計.md:15")


def test_values_the_documents_do_not_give_are_listed_as_defaults_never_invented():
    result = spec_from_documents([DOCS])
    defaulted = {s.field for s in result.defaults()}
    assert {"container_port", "environments.prd.vpc_cidr", "environments.prd.data_subnets",
            "environments.stg.db_instance_class"} <= defaulted
    assert "environments.prd.db_multi_az" not in defaulted
    # The documents' only address is at a documentation domain: not used, and said so.
    assert all(env.alert_email is None for env in result.spec.environments)
    assert any("inventory-ops@example.co.jp" in line for line in result.prerequisites)
    assert any("/inventory/prd/alb/certificate-arn" in line for line in result.prerequisites)
    assert sum(line.startswith("SSM パラメータ") and "/app/image-tag" in line for line in result.prerequisites) == 2
    # Every value given: no SSM parameter to create, only the image push and the app's DB login.
    given = prerequisites_of(spec_from_file(CACHE_SPEC))
    assert len(given) == 2 and not any("SSM パラメータ /" in line for line in given)
    assert "push" in given[0] and "ImageTag" in given[1 - 1] and "DbAdminTaskDefinition" in given[1]


def test_another_projects_documents_and_a_given_project_name(tmp_path):
    result = spec_from_documents([ROOT / "fixtures/scenarios/ecs-rds-broken/docs"])
    prd = result.spec.environment("prd")
    assert result.spec.project == "order-mgmt" and "デプロイ手順書.md:" in result.origin("project")
    assert (prd.db_instance_class, prd.db_backup_retention_days, prd.min_capacity) == ("db.t4g.small", 7, 2)
    assert result.spec.alarms.rds_cpu_percent == 70  # the monitoring table's own threshold
    plan = write_infrastructure(result.spec, tmp_path)
    assert parameters(tmp_path, plan.stack("database").parameters["prd"])["DBInstanceClass"] == "db.t4g.small"
    with pytest.raises(SpecError, match="no project identifier"):
        spec_from_documents([ROOT / "fixtures/scenarios/terraform-ecs/docs"])
    named = spec_from_documents([ROOT / "fixtures/scenarios/terraform-ecs/docs"], project="tf-demo")
    assert named.spec.project == "tf-demo" and named.origin("project").startswith("task")


def test_documents_with_a_cache_three_azs_and_a_real_address(tmp_path):
    result = spec_from_documents([CART_DOCS])
    spec = result.spec
    assert (spec.project, spec.description) == ("cart", "カート API")
    assert [e.name for e in spec.environments] == ["dev", "stg", "prod"]
    assert spec.cache is not None and (spec.cache.engine, spec.cache.replicas) == ("valkey", 2)
    assert (spec.database.engine, spec.database.engine_version) == ("mysql", "8.4.7")
    assert (spec.slo.latency_p95_ms, spec.slo.latency_p99_ms) == (None, 800)  # no invented p95
    prod, dev = spec.environment("prod"), spec.environment("dev")
    assert prod.app_subnets == ["10.72.16.0/22", "10.72.20.0/22", "10.72.24.0/22"]
    assert (prod.db_multi_az, dev.db_multi_az, prod.min_capacity, prod.max_capacity) == (True, False, 3, 12)
    assert prod.cache_node_type == "cache.r7g.large" and prod.alert_email == "cart-oncall@ec-platform.jp"
    plan = write_infrastructure(spec, tmp_path)
    matches = lint_by_config(ManualArgs(templates=[str(tmp_path / s.template) for s in plan.stacks],
                                        regions=[plan.region]))
    assert not [m for m in matches if m.rule.id.startswith("E")]
    alarms = load_template(tmp_path / "infra/templates/monitoring/alarms.yaml")
    assert alarms["Parameters"]["AlertEmail"]["Type"] == "String"
    assert parameters(tmp_path, "infra/parameters/prod/monitoring.json")["AlertEmail"] == "cart-oncall@ec-platform.jp"
    assert "AlbTargetResponseTimeP99Alarm" in alarms["Resources"]
    assert "AlbTargetResponseTimeP95Alarm" not in alarms["Resources"]
    assert alarms["Resources"]["RdsFreeStorageSpaceAlarm"]["Properties"]["Threshold"] == 40 * 1024 ** 3
    vpc = load_template(tmp_path / "infra/templates/network/vpc.yaml")
    assert vpc["Conditions"]["IsProduction"] == {"Equals": [{"Ref": "Environment"}, "prod"]}
    assert {vpc["Resources"][f"NatGateway{n}"].get("Condition") for n in (1, 2, 3)} == {None, "IsProduction"}
    assert parameters(tmp_path, "infra/parameters/prod/cache.json")["CacheNodeType"] == "cache.r7g.large"
    result = review([tmp_path], ReviewConfig(llm="off", workers=False, analyzers=("sre", "cfn-lint")))
    assert not [f for f in result.findings if f.severity.value == "error" and f.id not in SCRIPT_RULES]


def test_documents_that_contradict_themselves_are_a_one_line_error(tmp_path):
    (tmp_path / "基本設計書.md").write_text(
        "# 検証 基本設計書\n\n| パラメーター | 値 | 備考 |\n|---|---|---|\n| VPC CIDR | 10.9.0.0/16 | |\n\n"
        "| サブネット名 | CIDR | AZ | タイプ |\n|---|---|---|---|\n"
        "| demo-prd-public-a | 10.8.0.0/24 | a | パブリック |\n| demo-prd-public-c | 10.8.1.0/24 | c | パブリック |\n"
        "| demo-prd-app-a | 10.8.10.0/24 | a | プライベート |\n| demo-prd-app-c | 10.8.11.0/24 | c | プライベート |\n",
        encoding="utf-8")
    with pytest.raises(SpecError, match=r"subnet 10\.8\.0\.0/24 is outside the VPC 10\.9\.0\.0/16"):
        spec_from_documents([tmp_path])


def test_folder_without_documents_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="no design documents"):
        spec_from_documents([tmp_path / "empty"])
    with pytest.raises(SpecError, match="not found"):
        spec_from_documents([tmp_path / "missing"])


# --- the generated delivery -------------------------------------------------------------------

def test_stacks_in_deploy_order_with_a_parameter_file_per_environment(documents_delivery, cache_delivery):
    out, plan = documents_delivery
    assert [s.name for s in plan.stacks] == ["registry", "network", "database", "compute", "monitoring"]
    assert [s.name for s in cache_delivery[1].stacks] == \
        ["registry", "network", "database", "cache", "compute", "monitoring"]
    assert plan.stack("database").stateful and plan.stack("database").parameters["prd"] == \
        "infra/parameters/prd/database.json"
    assert plan.stack("compute").named_iam and plan.stack("network").named_iam
    assert not plan.stack("monitoring").iam and not plan.stack("monitoring").named_iam
    for stack in plan.stacks:
        assert (out / stack.template).is_file()


def test_every_parameter_file_holds_exactly_its_templates_parameters(delivery):
    out, plan = delivery
    for stack in plan.stacks:
        declared = load_template(out / stack.template)["Parameters"]
        assert {"ProjectName", "Environment"} <= set(declared)
        assert declared["Environment"]["AllowedValues"] == plan.environments
        for env, relative in stack.parameters.items():
            values = parameters(out, relative)
            assert set(values) == set(declared), relative
            assert values["Environment"] == env


def test_cfn_lint_reports_no_error(delivery):
    out, plan = delivery
    templates = [str(out / stack.template) for stack in plan.stacks]
    matches = lint_by_config(ManualArgs(templates=templates, regions=[plan.region]))
    errors = [f"{m.filename}:{m.linenumber} {m.rule.id} {m.message}" for m in matches
              if m.rule.id.startswith("E")]
    assert not errors, errors


def test_our_review_finds_no_error_and_only_the_explained_warnings(documents_delivery):
    out, _ = documents_delivery
    result = review([out], ReviewConfig(llm="off", workers=False, analyzers=("sre", "cfn-lint")))
    errors = [f for f in result.findings if f.severity.value == "error" and f.id not in SCRIPT_RULES]
    assert not errors, [(f.id, f.location(), f.message) for f in errors]
    warnings = [f for f in result.findings if f.severity.value == "warning" and not f.suppressed]
    assert not warnings, [(f.id, f.location(), f.message) for f in warnings]
    # Nothing is muted either: the burn-rate windows notify through their composite alarm, which
    # SRE-MON-002 understands, and the SSM-held image tag is not read as a mutable tag.
    assert not [f for f in result.findings if f.suppressed]


def test_checkov_and_our_rules_are_quiet_on_the_spec_file_delivery(cache_delivery):
    out, _ = cache_delivery
    result = review([out], ReviewConfig(llm="off", workers=False))
    loud = [(f.id, f.location(), f.message) for f in result.findings
            if f.severity.value in ("error", "warning") and not f.suppressed and f.id not in SCRIPT_RULES]
    assert not loud, loud
    assert any(a.name == "checkov" for a in result.analyzers)


def test_documented_values_land_in_the_production_parameter_files(documents_delivery):
    out, _ = documents_delivery
    database = parameters(out, "infra/parameters/prd/database.json")
    assert database["DBMultiAZ"] == "true" and database["BackupRetentionPeriod"] == "14"
    assert database["DBInstanceClass"] == "db.t4g.medium" and database["DBAllocatedStorage"] == "50"
    assert parameters(out, "infra/parameters/stg/database.json")["DBMultiAZ"] == "false"
    compute = parameters(out, "infra/parameters/prd/compute.json")
    assert (compute["MinCapacity"], compute["MaxCapacity"]) == ("2", "4") and "DesiredCount" not in compute
    assert (compute["TaskCpu"], compute["TaskMemory"]) == ("512", "1024")
    assert compute["HealthCheckPath"] == "/actuator/health" and compute["LogRetentionDays"] == "90"
    monitoring = parameters(out, "infra/parameters/prd/monitoring.json")
    assert monitoring["DBConnectionsThreshold"] == "360" and monitoring["HealthyHostThreshold"] == "2"
    assert parameters(out, "infra/parameters/stg/monitoring.json")["HealthyHostThreshold"] == "1"


def test_no_placeholder_and_no_invented_address_image_or_certificate(documents_delivery):
    out, plan = documents_delivery
    for stack in plan.stacks:
        for relative in stack.parameters.values():
            text = (out / relative).read_text()
            assert not PLACEHOLDER.search(text) and not PARAMETER_PLACEHOLDER.search(text), relative
    compute = load_template(out / "infra/templates/compute/ecs.yaml")
    assert compute["Parameters"]["ImageTag"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert compute["Parameters"]["CertificateArn"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameters(out, "infra/parameters/prd/compute.json")["ImageTag"] == "/inventory/prd/app/image-tag"
    assert parameters(out, "infra/parameters/prd/monitoring.json")["AlertEmail"] == "/inventory/prd/alert/email"
    image = compute["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]
    assert image["Sub"][0] == "${RepositoryUri}:${ImageTag}"


def test_production_safety_is_in_the_templates(documents_delivery):
    out, _ = documents_delivery
    vpc = load_template(out / "infra/templates/network/vpc.yaml")["Resources"]
    azs = [vpc[f"{tier}Subnet{n}"]["Properties"]["AvailabilityZone"]["Select"][0]
           for tier in ("Public", "App", "Data") for n in (1, 2)]
    assert azs == [0, 1] * 3
    assert vpc["NatGateway2"]["Condition"] == "IsProduction"
    assert vpc["AppDefaultRoute2"]["Properties"]["NatGatewayId"] == \
        {"If": ["IsProduction", {"Ref": "NatGateway2"}, {"Ref": "NatGateway1"}]}
    rds = load_template(out / "infra/templates/database/rds.yaml")
    db = rds["Resources"]["Database"]
    assert (db["DeletionPolicy"], db["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert db["Properties"]["ManageMasterUserPassword"] is True and db["Properties"]["StorageEncrypted"] is True
    assert "MasterUserPassword" not in db["Properties"]
    assert rds["Rules"]["ProductionMustBeMultiAZ"]["RuleCondition"] == {"Equals": [{"Ref": "Environment"}, "prd"]}
    service = load_template(out / "infra/templates/compute/ecs.yaml")["Resources"]["Service"]["Properties"]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert service["HealthCheckGracePeriodSeconds"] == {"Ref": "HealthCheckGracePeriodSeconds"}


def test_burn_rate_alarms_follow_the_slo_arithmetic(documents_delivery):
    out, _ = documents_delivery
    numbers = burn_rate_context(spec_from_documents([DOCS]).spec)
    assert numbers["budget_minutes"] == "43.2"
    assert (numbers["fast"]["threshold"], numbers["slow"]["threshold"]) == ("1.44", "0.6")
    assert (numbers["fast"]["budget_percent"], numbers["slow"]["budget_percent"]) == ("2", "5")
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")["Resources"]
    fast_1h, fast_5m = alarms["SloBurnFast1HAlarm"]["Properties"], alarms["SloBurnFast5MAlarm"]["Properties"]
    assert (fast_1h["Threshold"], fast_5m["Threshold"]) == (1.44, 1.44)
    assert {m["MetricStat"]["Period"] for m in fast_1h["Metrics"] if "MetricStat" in m} == {3600}
    assert alarms["SloBurnSlow6HAlarm"]["Properties"]["Threshold"] == 0.6
    composite = alarms["SloBurnFastAlarm"]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    assert composite["Properties"]["AlarmRule"] == \
        {"Sub": 'ALARM("${SloBurnFast1HAlarm}") AND ALARM("${SloBurnFast5MAlarm}")'}
    assert "43.2 min of full outage" in (out / "infra/templates/monitoring/alarms.yaml").read_text()
    healthy = alarms["AlbHealthyHostCountAlarm"]["Properties"]["Dimensions"]
    assert [d["Name"] for d in healthy] == ["LoadBalancer", "TargetGroup"]


def test_spec_file_with_cache_gives_values_and_a_failover_cache(cache_delivery):
    out, _ = cache_delivery
    group = load_template(out / "infra/templates/cache/elasticache.yaml")["Resources"]["CacheReplicationGroup"]
    props = group["Properties"]
    assert (props["NumCacheClusters"], props["AutomaticFailoverEnabled"], props["MultiAZEnabled"]) == (3, True, True)
    assert props["TransitEncryptionEnabled"] is True and group["DeletionPolicy"] == "Snapshot"
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")["Resources"]
    assert {"Cache001EngineCPUUtilizationAlarm", "Cache003DatabaseMemoryUsagePercentageAlarm",
            "AlbTargetResponseTimeP99Alarm"} <= set(alarms)
    assert alarms["SloBurnFast1HAlarm"]["Properties"]["Threshold"] == 0.72  # 14.4 x 0.05 %
    compute = parameters(out, "infra/parameters/prd/compute.json")
    assert compute["ImageTag"] == "4f9c2e1" and compute["CertificateArn"].startswith("arn:aws:acm:")
    assert load_template(out / "infra/templates/compute/ecs.yaml")["Parameters"]["ImageTag"]["Type"] == "String"
    assert parameters(out, "infra/parameters/prd/monitoring.json")["AlertEmail"] == \
        "order-api-oncall@shop-orders.co.jp"
    network = parameters(out, "infra/parameters/prd/network.json")
    assert network["DataSubnet3Cidr"] == "10.60.22.0/24"


def test_bad_spec_files_are_one_line_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("project: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        spec_from_file(broken)
    data = yaml.safe_load(CACHE_SPEC.read_text())
    data["environments"][1]["image_tag"] = "latest"
    mutable = tmp_path / "mutable.json"
    mutable.write_text(json.dumps(data))
    with pytest.raises(SpecError, match="image_tag.*mutable"):
        spec_from_file(mutable)


def test_production_below_the_standard_is_refused(tmp_path):
    data = yaml.safe_load(CACHE_SPEC.read_text())
    data["environments"][1].update(desired_count=1, min_capacity=1)
    with pytest.raises(SpecError, match="at least 2 tasks"):
        write_infrastructure(InfraSpec.model_validate(data), tmp_path)
    data["environments"][1].update(desired_count=3, min_capacity=3, db_multi_az=False)
    with pytest.raises(SpecError, match="multi-AZ"):
        write_infrastructure(InfraSpec.model_validate(data), tmp_path)


# --- fixes from the senior SRE's review of the delivery (judge-delivery.md) ---------------------

def _docs_copy(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """The clean scenario's documents, copied and edited (old → new), to show a value follows them."""
    import shutil

    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    for relative, (old, new) in edits.items():
        path = copy / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def _ratio(expression: str, **values: float | None) -> float:
    """Evaluates a CloudWatch metric-math ratio (IF, FILL, + - * /, >=) over single datapoints;
    None is a metric with no datapoint. A tiny AST walk: nothing in the template is executed."""
    import ast
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
    compare = {ast.GtE: operator.ge, ast.Gt: operator.gt, ast.Lt: operator.lt, ast.LtE: operator.le}

    def walk(node: ast.AST):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            return ops[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return compare[type(node.ops[0])](walk(node.left), walk(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "FILL":
                value = walk(node.args[0])
                return walk(node.args[1]) if value is None else value
            if node.func.id == "IF":  # the branch not taken is not evaluated (no division by zero)
                return walk(node.args[1]) if walk(node.args[0]) else walk(node.args[2])
        raise AssertionError(f"unexpected metric math: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval").body)


def test_the_image_repository_is_created_first_and_keeps_the_designs_image_count(documents_delivery):
    out, plan = documents_delivery
    assert plan.stacks[0].name == "registry" and plan.stacks[0].stateful
    ecr = load_template(out / "infra/templates/registry/ecr.yaml")
    repository = ecr["Resources"]["AppRepository"]
    props = repository["Properties"]
    assert (repository["DeletionPolicy"], repository["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props["ImageTagMutability"] == "IMMUTABLE" and props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    policy = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"]["Sub"].replace(
        "${ImageRetentionCount}", "30"))
    assert policy["rules"][0]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}
    assert parameters(out, "infra/parameters/prd/registry.json")["ImageRetentionCount"] == "30"
    assert spec_from_documents([DOCS]).origin("image_retention_count").endswith("06_バックアップ設計.md:10")
    # compute runs the image of that repository, from its export; an image push is a prerequisite
    assert set(ecr["Outputs"]) == {"RepositoryName", "RepositoryUri"}
    image = load_template(out / "infra/templates/compute/ecs.yaml")["Resources"]["TaskDefinition"][
        "Properties"]["ContainerDefinitions"][0]["Image"]["Sub"]
    assert image[1]["RepositoryUri"] == {"Fn::ImportValue": {"Sub": "${ProjectName}-${Environment}-RepositoryUri"}}
    assert any("push" in line and "compute スタックの作成前" in line for line in spec_from_documents([DOCS]).prerequisites)


def test_image_count_follows_the_documents(tmp_path):
    docs = _docs_copy(tmp_path, {"03_基本設計/06_バックアップ設計.md": ("直近 30 イメージ", "直近 50 イメージ")})
    assert spec_from_documents([docs]).spec.image_retention_count == 50


def test_the_designs_budget_notifies_the_alert_topic(documents_delivery, cache_delivery):
    out, _ = documents_delivery
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")
    budget = alarms["Resources"]["MonthlyBudget"]
    assert budget["Type"] == "AWS::Budgets::Budget" and budget["Condition"] == "IsProduction"
    limits = budget["Properties"]["Budget"]
    assert (limits["BudgetType"], limits["TimeUnit"], limits["BudgetLimit"]) == \
        ("COST", "MONTHLY", {"Amount": {"Ref": "MonthlyBudgetUsd"}, "Unit": "USD"})
    assert parameters(out, "infra/parameters/prd/monitoring.json")["MonthlyBudgetUsd"] == "600"
    notifications = {(n["Notification"]["NotificationType"], n["Notification"]["Threshold"],
                      n["Notification"]["ThresholdType"], n["Subscribers"][0]["SubscriptionType"],
                      json.dumps(n["Subscribers"][0]["Address"]))
                     for n in budget["Properties"]["NotificationsWithSubscribers"]}
    assert notifications == {("ACTUAL", 80, "PERCENTAGE", "SNS", '{"Ref": "AlertTopic"}'),
                             ("FORECASTED", 100, "PERCENTAGE", "SNS", '{"Ref": "AlertTopic"}')}
    # the encrypted topic accepts AWS Budgets: the topic policy and the key policy both allow it
    topic = alarms["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    key = alarms["Resources"]["AlertTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statements in (topic, key):
        budgets = [st for st in statements if st["Principal"] == {"Service": "budgets.amazonaws.com"}]
        assert budgets and budgets[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # a spec without a budget gets none (and no parameter for it)
    cache_alarms = load_template(cache_delivery[0] / "infra/templates/monitoring/alarms.yaml")
    assert "MonthlyBudget" not in cache_alarms["Resources"] and "MonthlyBudgetUsd" not in cache_alarms["Parameters"]


def test_every_row_of_the_monitoring_table_is_an_alarm_with_its_window(documents_delivery):
    out, _ = documents_delivery
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")["Resources"]
    rate = alarms["AlbErrorRateAlarm"]["Properties"]  # 「ALB 5XXエラー率 | 0.1%超 | 5分 × 3回連続」
    assert (rate["Threshold"], rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (0.1, 3, 3)
    assert {m["MetricStat"]["Period"] for m in rate["Metrics"] if "MetricStat" in m} == {300}
    assert rate["AlarmActions"] == [{"Ref": "AlertTopic"}]
    windows = {name: (alarms[name]["Properties"]["Period"], alarms[name]["Properties"]["EvaluationPeriods"],
                      alarms[name]["Properties"]["DatapointsToAlarm"])
               for name in ("AlbTarget5xxAlarm", "AlbHealthyHostCountAlarm", "RdsFreeStorageSpaceAlarm",
                            "RdsDatabaseConnectionsAlarm", "EcsCpuAlarm")}
    assert windows == {"AlbTarget5xxAlarm": (60, 3, 2), "AlbHealthyHostCountAlarm": (60, 3, 3),
                       "RdsFreeStorageSpaceAlarm": (300, 1, 1), "RdsDatabaseConnectionsAlarm": (300, 2, 2),
                       "EcsCpuAlarm": (300, 3, 3)}
    assert "SloBurnFastAlarm" in alarms and "SloBurnSlowAlarm" in alarms  # kept beside the design's rows


def test_alarm_windows_follow_the_documents(tmp_path):
    docs = _docs_copy(tmp_path, {"03_基本設計/05_監視設計.md": (
        "| ALB TargetResponseTime（p95） | 500ms超 | 5分 × 3回連続 |",
        "| ALB TargetResponseTime（p95） | 500ms超 | 1分 × 5回中3回 |")})
    result = spec_from_documents([docs])
    plan = write_infrastructure(result.spec, tmp_path / "out")
    latency = load_template(tmp_path / "out" / plan.stack("monitoring").template)["Resources"][
        "AlbTargetResponseTimeP95Alarm"]["Properties"]
    assert (latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (60, 5, 3)
    assert "1 分 × 5 回中 3 回" in latency["AlarmDescription"]


def test_a_total_outage_reads_100_percent_errors_not_0(documents_delivery):
    out, _ = documents_delivery
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")["Resources"]
    for name, prefix in (("SloBurnFast5MAlarm", "fast5m"), ("AlbErrorRateAlarm", "errorRate")):
        expression = next(m["Expression"] for m in alarms[name]["Properties"]["Metrics"] if "Expression" in m)

        def ratio(requests, elb, target, elb502=None, elb504=None):
            return _ratio(expression, **{f"{prefix}Requests": requests, f"{prefix}Elb5xx": elb,
                                         f"{prefix}Target5xx": target, f"{prefix}Elb502": elb502,
                                         f"{prefix}Elb504": elb504})

        # no registered target: the ALB answers 503 itself and RequestCount publishes nothing
        assert ratio(None, 500, None) == 100
        assert ratio(1000, None, 2) == pytest.approx(0.2)
        assert ratio(990, 10, None) == pytest.approx(1.0)
        assert ratio(3, None, 1) == 0 and ratio(None, None, None) == 0  # too few requests to judge
        # a 502/504 chose a target, so RequestCount already holds it: every request timing out is
        # 100 %, not 50 % (counting it twice), and a few 504s among 1000 requests are 1 %, not 0.99 %
        assert ratio(1000, 1000, None, elb504=1000) == 100
        assert ratio(1000, 10, None, elb502=4, elb504=6) == pytest.approx(1.0)
        assert ratio(1000, 10, None, elb502=4) == pytest.approx(1000 / 1006)  # 6 others had no target


def test_the_application_logs_in_with_its_own_secret_not_the_rotating_master(documents_delivery):
    out, _ = documents_delivery
    rds = load_template(out / "infra/templates/database/rds.yaml")
    secret = rds["Resources"]["AppUserSecret"]
    generated = secret["Properties"]["GenerateSecretString"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert json.loads(generated["SecretStringTemplate"]) == {"username": "inventory_app"}
    assert generated["GenerateStringKey"] == "password" and generated["PasswordLength"] >= 32
    assert set("\"'@/\\:;?#%&= ") <= set(generated["ExcludeCharacters"])  # safe in a connection string
    assert "DBAppUserSecretArn" in rds["Outputs"] and "DBMasterUserSecretArn" in rds["Outputs"]  # master: DBAs
    ecs = load_template(out / "infra/templates/compute/ecs.yaml")["Resources"]
    app_secret = {"Fn::ImportValue": {"Sub": "${ProjectName}-${Environment}-DBAppUserSecretArn"}}
    container = ecs["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["Secrets"] == [{"Name": "DB_CREDENTIALS", "ValueFrom": app_secret}]
    statements = [st for policy in ecs["TaskExecutionRole"]["Properties"]["Policies"]
                  for st in policy["PolicyDocument"]["Statement"]]
    assert [st["Resource"] for st in statements if "secretsmanager:GetSecretValue" in str(st["Action"])] == [app_secret]
    # the master secret is read by the one-off db-admin task only, never by the application
    app_side = json.dumps([ecs["TaskDefinition"], ecs["TaskExecutionRole"], ecs["Service"]])
    assert "DBMasterUserSecretArn" not in app_side
    # the first-deploy step runs that task in the app subnets: no terminal reaches the database
    step = next(line for line in spec_from_documents([DOCS]).prerequisites if "DbAdminTaskDefinition" in line)
    for words in ("MaintenanceMode=true", "`aws ecs run-task`", "inventory-<環境>-cluster", "AppSubnet1Id/AppSubnet2Id",
                  "AppSecurityGroupId", "`aws ecs wait tasks-stopped`", "exitCode が 0", "MaintenanceMode=false",
                  "`aws ecs wait services-stable --cluster inventory-<環境>-cluster --services inventory-<環境>-app`"):
        assert words in step, words
    assert "作業端末" not in step and "CREATE ROLE" not in step


def test_maintenance_mode_stops_every_task_and_production_keeps_two_otherwise(documents_delivery):
    out, _ = documents_delivery
    ecs = load_template(out / "infra/templates/compute/ecs.yaml")
    mode = ecs["Parameters"]["MaintenanceMode"]
    assert (mode["Default"], mode["AllowedValues"]) == ("false", ["true", "false"])
    assert ecs["Conditions"]["InMaintenance"] == {"Equals": [{"Ref": "MaintenanceMode"}, "true"]}
    resources = ecs["Resources"]
    # auto scaling owns the count: no DesiredCount outside maintenance, so a release keeps a scaled-out count
    assert resources["Service"]["Properties"]["DesiredCount"] == {"If": ["InMaintenance", 0, {"Ref": "AWS::NoValue"}]}
    assert "DesiredCount" not in ecs["Parameters"]
    target = resources["ServiceScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        {"If": ["InMaintenance", 0, {"Ref": "MinCapacity"}]}, {"If": ["InMaintenance", 0, {"Ref": "MaxCapacity"}]})
    assert ecs["Rules"]["ProductionRunsTwoTasks"]["RuleCondition"] == {"And": [
        {"Equals": [{"Ref": "Environment"}, "prd"]}, {"Equals": [{"Ref": "MaintenanceMode"}, "false"]}]}
    assert all(parameters(out, f"infra/parameters/{env}/compute.json")["MaintenanceMode"] == "false"
               for env in ("stg", "prd"))
    assert [a["Assert"] for a in ecs["Rules"]["ProductionRunsTwoTasks"]["Assertions"]] == [
        {"Not": [{"Contains": [["1"], {"Ref": "MinCapacity"}]}]}]


def test_the_maintenance_window_is_computed_from_the_jst_the_design_states(documents_delivery, tmp_path):
    out, _ = documents_delivery
    db = load_template(out / "infra/templates/database/rds.yaml")["Resources"]["Database"]["Properties"]
    # 日曜 03:30〜04:30 JST is Saturday 18:30 UTC; the design's own `sun:18:30` would be Monday JST
    assert (db["PreferredMaintenanceWindow"], db["PreferredBackupWindow"]) == ("sat:18:30-sat:19:30", "17:00-18:00")
    result = spec_from_documents([DOCS])
    assert any("sun:18:30-sun:19:30" in note and "sat:18:30-sat:19:30" in note for note in result.prerequisites)
    docs = _docs_copy(tmp_path, {"03_基本設計/06_バックアップ設計.md": (
        "日曜 03:30〜04:30（JST） | UTC sun:18:30-sun:19:30", "月曜 08:00〜09:00（JST） | UTC sun:23:00-mon:00:00")})
    agreed = spec_from_documents([docs])
    assert agreed.spec.database.maintenance_window == "sun:23:00-mon:00:00"
    assert not any("ウィンドウ" in note for note in agreed.prerequisites)  # the design agrees with itself


def test_security_groups_allow_only_the_traffic_they_need(documents_delivery):
    out, _ = documents_delivery
    vpc = load_template(out / "infra/templates/network/vpc.yaml")
    groups = vpc["Resources"]
    assert groups["AlbSecurityGroup"]["Properties"]["SecurityGroupEgress"] == [{
        "IpProtocol": "tcp", "FromPort": {"Ref": "ContainerPort"}, "ToPort": {"Ref": "ContainerPort"},
        "DestinationSecurityGroupId": {"Ref": "AppSecurityGroup"}, "Description": "Container port of the ECS tasks only"}]
    app = groups["AppSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(r["FromPort"], json.dumps(r["CidrIp"])) for r in app} == {
        (443, '"0.0.0.0/0"'), (5432, '{"Ref": "DataSubnet1Cidr"}'), (5432, '{"Ref": "DataSubnet2Cidr"}')}
    ingress = groups["AppFromAlbIngress"]["Properties"]
    assert (ingress["GroupId"], ingress["SourceSecurityGroupId"]) == ({"Ref": "AppSecurityGroup"}, {"Ref": "AlbSecurityGroup"})
    db_group = load_template(out / "infra/templates/database/rds.yaml")["Resources"]["DBSecurityGroup"]["Properties"]
    assert db_group["SecurityGroupEgress"] == [
        {"IpProtocol": "-1", "CidrIp": "127.0.0.1/32", "Description": "No outbound traffic"}]
    # the container port is a network parameter only; compute imports it
    assert "ContainerPort" in vpc["Outputs"] and "ContainerPort" in parameters(out, "infra/parameters/prd/network.json")
    compute = load_template(out / "infra/templates/compute/ecs.yaml")
    assert "ContainerPort" not in compute["Parameters"]
    assert compute["Resources"]["TargetGroup"]["Properties"]["Port"] == \
        {"Fn::ImportValue": {"Sub": "${ProjectName}-${Environment}-ContainerPort"}}
    key = load_template(out / "infra/templates/monitoring/alarms.yaml")["Resources"]["AlertTopicKey"]
    cloudwatch = next(st for st in key["Properties"]["KeyPolicy"]["Statement"]
                      if st["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    trust = groups["FlowLogRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"}}}


def test_a_spec_file_gives_the_budget_the_design_alarms_and_their_windows(tmp_path):
    data = yaml.safe_load(CACHE_SPEC.read_text())
    data["budget"] = {"amount_usd": 900, "forecast_percent": 110}
    data.setdefault("alarms", {}).update(error_rate_percent=0.5, windows={"error_rate": {
        "period": 60, "evaluations": 5, "datapoints": 3}})
    given = tmp_path / "spec.yaml"
    given.write_text(yaml.safe_dump(data, allow_unicode=True))
    spec = spec_from_file(given)
    assert spec.alarms.windows["rds_free_storage"].evaluations == 1  # the rest keep their defaults
    plan = write_infrastructure(spec, tmp_path / "out")
    alarms = load_template(tmp_path / "out" / plan.stack("monitoring").template)["Resources"]
    rate = alarms["AlbErrorRateAlarm"]["Properties"]
    assert (rate["Threshold"], rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (0.5, 5, 3)
    thresholds = sorted((n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
                        for n in alarms["MonthlyBudget"]["Properties"]["NotificationsWithSubscribers"])
    assert thresholds == [("ACTUAL", 80), ("FORECASTED", 110)]
    assert parameters(tmp_path / "out", "infra/parameters/prd/monitoring.json")["MonthlyBudgetUsd"] == "900"
    data["alarms"]["windows"] = {"error_rate": {"period": 90, "evaluations": 2, "datapoints": 3}}
    given.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(SpecError, match="alarms.windows.error_rate"):
        spec_from_file(given)


def _shellcheck(command: str, tmp_path: Path) -> list[str]:
    """The real shellcheck on a container command (`sh -c`), as POSIX sh."""
    import subprocess
    import sys

    script = tmp_path / "command.sh"
    script.write_text(f"#!/bin/sh\n{command}\n", encoding="utf-8")
    shellcheck = Path(sys.executable).parent / "shellcheck"
    run = subprocess.run([str(shellcheck), "-s", "sh", "-f", "gcc", str(script)],
                         capture_output=True, text=True, timeout=30)
    return run.stdout.splitlines()


def test_the_db_admin_task_creates_the_app_login_from_the_app_subnets(documents_delivery, tmp_path):
    out, _ = documents_delivery
    ecs = load_template(out / "infra/templates/compute/ecs.yaml")
    resources = ecs["Resources"]
    task = resources["DbAdminTaskDefinition"]["Properties"]
    assert task["Family"] == {"Sub": "${ProjectName}-${Environment}-db-admin"}
    assert (task["NetworkMode"], task["RequiresCompatibilities"]) == ("awsvpc", ["FARGATE"])
    assert task["ExecutionRoleArn"] == {"GetAtt": "DbAdminExecutionRole.Arn"}
    container = task["ContainerDefinitions"][0]
    assert container["Image"] == "public.ecr.aws/docker/library/postgres:17"  # the design's PostgreSQL 17
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "AppLogGroup"}
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "db-admin"
    master = {"Fn::ImportValue": {"Sub": "${ProjectName}-${Environment}-DBMasterUserSecretArn"}}
    app = {"Fn::ImportValue": {"Sub": "${ProjectName}-${Environment}-DBAppUserSecretArn"}}
    secrets = {s["Name"]: s["ValueFrom"]["Sub"] for s in container["Secrets"]}
    assert secrets == {"PGUSER": ["${SecretArn}:username::", {"SecretArn": master}],
                       "PGPASSWORD": ["${SecretArn}:password::", {"SecretArn": master}],
                       "APP_PASSWORD": ["${SecretArn}:password::", {"SecretArn": app}]}
    role = resources["DbAdminExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert role["Resource"] == [master, app]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["PGSSLMODE"] == "require" and environment["PGDATABASE"] == "inventory"
    sql = environment["ADMIN_SQL"].splitlines()
    # idempotent: create only when missing, then (re)set the password from the psql variable
    assert r"\getenv app_password APP_PASSWORD" in sql and r"\set app_user inventory_app" in sql
    assert any("CREATE ROLE" in line and "WHERE NOT EXISTS" in line and line.endswith(r"\gexec") for line in sql)
    assert any("ALTER ROLE %I WITH LOGIN PASSWORD %L" in line and ":'app_password'" in line for line in sql)
    command = container["Command"]
    assert container["EntryPoint"] == ["sh", "-c"] and len(command) == 1
    # the passwords are only ever environment variables: not in the command, not in the SQL text
    assert "PASSWORD" not in command[0] and "$APP_PASSWORD" not in environment["ADMIN_SQL"]
    assert "ON_ERROR_STOP=1" in command[0] and "VERBOSITY terse" in environment["ADMIN_SQL"]
    assert _shellcheck(command[0], tmp_path) == []
    outputs = ecs["Outputs"]
    assert outputs["DbAdminTaskDefinition"]["Export"]["Name"] == {
        "Sub": "${ProjectName}-${Environment}-DbAdminTaskDefinition"}
    assert outputs["ClusterName"]["Export"]["Name"] == {"Sub": "${ProjectName}-${Environment}-ClusterName"}
    # the task's network is the app's, which the network stack exports
    vpc = load_template(out / "infra/templates/network/vpc.yaml")["Outputs"]
    assert {"AppSubnet1Id", "AppSubnet2Id", "AppSecurityGroupId"} <= set(vpc)


def test_the_mysql_db_admin_task_uses_a_prepared_statement_and_the_mysql_image(tmp_path):
    spec = spec_from_documents([CART_DOCS]).spec
    write_infrastructure(spec, tmp_path / "out")
    task = load_template(tmp_path / "out/infra/templates/compute/ecs.yaml")["Resources"]["DbAdminTaskDefinition"]
    container = task["Properties"]["ContainerDefinitions"][0]
    assert container["Image"] == "public.ecr.aws/docker/library/mysql:8.4"  # the design's MySQL 8.4.7
    assert {s["Name"] for s in container["Secrets"]} == {"DB_USER", "MYSQL_PWD", "APP_PASSWORD"}
    sql = next(e["Value"] for e in container["Environment"] if e["Name"] == "ADMIN_SQL")
    assert "CONCAT('CREATE USER IF NOT EXISTS ''cart_app''@''%'' IDENTIFIED BY ', QUOTE(@app_password)" in sql
    assert sql.count("PREPARE ddl FROM @ddl;") == 2 and "ALTER USER" in sql
    command = container["Command"][0]
    assert "--ssl-mode=REQUIRED" in command and '"$APP_PASSWORD"' in command and "MYSQL_PWD" not in command
    assert _shellcheck(command, tmp_path) == []


def test_ecs_alarms_stay_silent_in_maintenance_and_the_rest_still_page(documents_delivery):
    out, _ = documents_delivery
    alarms = load_template(out / "infra/templates/monitoring/alarms.yaml")
    assert alarms["Conditions"]["InMaintenance"] == {"Equals": [{"Ref": "MaintenanceMode"}, "true"]}
    assert alarms["Parameters"]["MaintenanceMode"]["Default"] == "false"
    switched = {name for name, r in alarms["Resources"].items() if "ActionsEnabled" in r.get("Properties", {})}
    assert switched == {"EcsCpuAlarm", "EcsMemoryAlarm", "AlbHealthyHostCountAlarm"}
    for name in switched:
        assert alarms["Resources"][name]["Properties"]["ActionsEnabled"] == {"If": ["InMaintenance", False, True]}
    assert all(parameters(out, f"infra/parameters/{env}/monitoring.json")["MaintenanceMode"] == "false"
               for env in ("stg", "prd"))


def test_production_task_floor_is_still_checked_without_a_desired_count(documents_delivery, tmp_path):
    """MAZ003 reads the scalable target's MinCapacity: quiet at 2, and it still fires at 1."""
    import shutil

    out, _ = documents_delivery
    copy = tmp_path / "delivery"
    shutil.copytree(out, copy)
    compute = copy / "infra/parameters/prd/compute.json"
    values = json.loads(compute.read_text())
    for item in values:
        if item["ParameterKey"] == "MinCapacity":
            item["ParameterValue"] = "1"
    compute.write_text(json.dumps(values))
    result = review([copy], ReviewConfig(llm="off", workers=False, analyzers=("sre",)))
    assert [f.id for f in result.findings if f.id == "SRE-MAZ-003" and not f.suppressed] == ["SRE-MAZ-003"]


def test_the_cost_estimate_still_prices_the_tasks_without_a_desired_count(documents_delivery):
    """`DesiredCount: !If [InMaintenance, 0, !Ref AWS::NoValue]` is absent outside maintenance: the
    estimate prices the scalable target's floor (2 tasks in prd), not 'cannot resolve'."""
    from sre_agent.cost import estimate
    from sre_agent.project import load_project

    out, _ = documents_delivery
    result = estimate(load_project([out]), "prd")
    fargate = [item for item in result.items if item.category == "fargate"]
    assert [item.resource for item in fargate] == ["Service"], result.unpriced
    assert not [line for line in result.unpriced if line.startswith("Service:")]
    assert fargate[0].quantity == 2 * 730 and "× 2タスク" in fargate[0].spec


@pytest.fixture()
def local_postgres():
    """A throwaway PostgreSQL on 127.0.0.1 (a free port) with the design's master user and database;
    stopped at teardown. Skipped where the server binaries are not installed."""
    import os
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile

    # Debian keeps the server tools in /usr/lib/postgresql/<major>/bin, off PATH.
    server_bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    search = os.pathsep.join([os.environ["PATH"], *map(str, server_bins)])
    if not all(shutil.which(tool, path=search) for tool in ("initdb", "pg_ctl", "psql")):
        pytest.skip("PostgreSQL server binaries not installed")
    initdb, pg_ctl = shutil.which("initdb", path=search), shutil.which("pg_ctl", path=search)
    try:
        owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    except KeyError:
        pytest.skip("running as root without a postgres user")
    tmp_path = Path(tempfile.mkdtemp(prefix="sre-agent-pg-"))  # pytest's tmp is root-only: the server runs as postgres
    data = tmp_path / "pgdata"
    data.mkdir()
    (tmp_path / "pw").write_text("master-Pw-1\n")
    for path in (tmp_path, data, tmp_path / "pw"):
        if owner:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    as_owner = {"user": owner.pw_uid, "group": owner.pw_gid} if owner else {}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = dict(capture_output=True, text=True, timeout=60, check=True, **as_owner)
    subprocess.run([initdb, "-D", str(data), "-U", "app_admin", f"--pwfile={tmp_path / 'pw'}",
                    "--auth-local=scram-sha-256", "--auth-host=scram-sha-256"], **run)
    subprocess.run([pg_ctl, "-D", str(data), "-w", "-l", str(tmp_path / "log"), "-o",
                    f"-p {port} -h 127.0.0.1 -k {tmp_path}", "start"], **run)
    env = {"PATH": os.environ["PATH"], "PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "app_admin",
           "PGPASSWORD": "master-Pw-1"}
    try:
        subprocess.run(["psql", "-X", "-d", "postgres", "-c", "CREATE DATABASE inventory"], env=env,
                       capture_output=True, text=True, timeout=30, check=True)
        yield env
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, **as_owner)
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_db_admin_command_creates_then_updates_the_login_on_a_real_postgres(documents_delivery, local_postgres):
    """The template's own command and SQL, run by sh and psql against a local server: the login is
    created, a second run with a new secret value only changes its password, and neither password
    reaches the output."""
    import subprocess

    out, _ = documents_delivery
    task = load_template(out / "infra/templates/compute/ecs.yaml")["Resources"]["DbAdminTaskDefinition"]
    container = task["Properties"]["ContainerDefinitions"][0]
    sql = next(e["Value"] for e in container["Environment"] if e["Name"] == "ADMIN_SQL")
    base = {**local_postgres, "PGDATABASE": "inventory", "ADMIN_SQL": sql,
            "PGSSLMODE": "disable"}  # the local server has no TLS; RDS gets `require` from the template

    def admin(app_password: str) -> subprocess.CompletedProcess:
        return subprocess.run([*container["EntryPoint"], *container["Command"]], env={**base, "APP_PASSWORD": app_password},
                              capture_output=True, text=True, timeout=30)

    def login(password: str) -> subprocess.CompletedProcess:
        env = {**base, "PGUSER": "inventory_app", "PGPASSWORD": password}
        return subprocess.run(["psql", "-X", "-At", "-c", "SELECT current_user, has_schema_privilege('public', 'CREATE')"],
                              env=env, capture_output=True, text=True, timeout=30)

    first = admin("app-Pw-0123456789abcdefghijklmnop")
    assert first.returncode == 0, first.stderr
    assert "db-admin: login inventory_app created or updated" in first.stdout
    assert login("app-Pw-0123456789abcdefghijklmnop").stdout.strip() == "inventory_app|t"
    second = admin("app-Pw-new-ZYXWVUTSRQPONMLKJIH")  # idempotent: the role exists, the password changes
    assert second.returncode == 0, second.stderr
    assert login("app-Pw-new-ZYXWVUTSRQPONMLKJIH").stdout.strip() == "inventory_app|t"
    assert login("app-Pw-0123456789abcdefghijklmnop").returncode != 0
    for run in (first, second):
        assert "app-Pw" not in run.stdout + run.stderr
    failed = subprocess.run([*container["EntryPoint"], *container["Command"]],
                            env={**base, "PGPASSWORD": "wrong", "APP_PASSWORD": "x"}, capture_output=True, text=True,
                            timeout=30)
    assert failed.returncode != 0  # the task's exit code tells the runbook it failed
