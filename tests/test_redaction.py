"""Redaction before the LLM pass: what must never reach the API, and what must stay readable.

Planted secrets are the shapes found in real projects (runbook commands, env assignments, JSON
parameter files, Japanese design-doc tables and prose); the keep-list is ordinary infra text
the model needs to read as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sre_agent.llm.context import select_context
from sre_agent.llm.redact import KINDS, PLACEHOLDER, Redactor, flagged_lines
from sre_agent.models import Finding, Perspective, Severity
from sre_agent.project import load_project
from sre_agent.review import ReviewConfig, review

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9Jd2f\nq83nfKd0a7Hn\n"
       "-----END RSA PRIVATE KEY-----")


@pytest.mark.parametrize("path,text,secret,kind", [
    # command-line flags, quoted or not, space or `=`
    ("scripts/create-db.sh",
     "aws rds create-db-instance --db-instance-identifier order-prd --master-user-password 'Pa55w0rd-Prod'",
     "Pa55w0rd-Prod", "command-flag"),
    ("scripts/migrate.sh", "./migrate --db-password=Secret123 --host db.internal", "Secret123", "command-flag"),
    ("scripts/secret.sh",
     'aws secretsmanager create-secret --name order/prd/api --secret-string "tK9-vQ2-Lm7x"',
     "tK9-vQ2-Lm7x", "command-flag"),
    ("scripts/release.sh", "gh release create v1.2.0 --auth-token xyz7Token99", "xyz7Token99", "command-flag"),
    ("docs/手順書.md", "aws rds modify-db-instance --master-user-password Juhacchu#2024 --apply-immediately",
     "Juhacchu#2024", "command-flag"),
    # KEY=value anywhere in a line, YAML / JSON keys anywhere, Terraform and tables
    ("scripts/run.sh", "export PGHOST=db.internal DB_PASS=hunter2prod ./run.sh", "hunter2prod", "key-value"),
    ("scripts/run.sh", "env DB_PASSWORD=Kx93mPq docker run order-api", "Kx93mPq", "key-value"),
    ("scripts/run.sh", "docker run -e MYSQL_PASS=abc123 -e TZ=Asia/Tokyo mysql:8", "abc123", "key-value"),
    ("config/app.json", '{"password": "Hunter2", "user": "app"}', "Hunter2", "key-value"),
    ("compose.yaml", '      db_password: "Hunter2-yaml"', "Hunter2-yaml", "key-value"),
    ("template.yaml", "      MasterUserPassword: Sup3r S3cretPw", "Sup3r S3cretPw", "key-value"),
    ("main.tf", '  password = "Hunter2tf"', "Hunter2tf", "key-value"),
    ("docs/設計書.md", "| DB_PASSWORD | hunter2prod | ECS タスク定義の環境変数 |", "hunter2prod", "key-value"),
    ("docs/手順書.md", "curl -H 'Authorization: Bearer eyJ0b2tlbiI6ImFiYyJ9' https://api.example.com/health",
     "eyJ0b2tlbiI6ImFiYyJ9", "key-value"),
    ("scripts/psql.sh", "psql postgres://app:pa55word@db.example.com:5432/orders", "pa55word",
     "connection-string"),
    # parameter files: key and value on one line or split
    ("params/prd.json", '  {"ParameterKey": "DbPassword", "ParameterValue": "Sup3rS3cretPw!"},',
     "Sup3rS3cretPw!", "parameter-file"),
    ("params/prd.json", '  {\n    "ParameterKey": "DbPass",\n    "ParameterValue": "Sup3rS3cretPw!"\n  },',
     "Sup3rS3cretPw!", "parameter-file"),
    ("template.yaml", "        - Name: DB_PASSWORD\n          Value: hunter2prod", "hunter2prod", "parameter-file"),
    # Japanese labels: table cells after the label cell, prose with every separator
    ("docs/基本設計書.md", "| DB パスワード | Hunter2-Prod | 本番環境のみ |", "Hunter2-Prod", "japanese-label"),
    ("docs/基本設計書.md", "| 初期パスワード（管理画面） | `Welcome#2026` | 初回ログイン時に変更 |",
     "Welcome#2026", "japanese-label"),
    ("docs/基本設計書.md", "| 外部決済 API キー | sk-live-4f9a8b7c6d5e | 決済代行会社発行 |",
     "sk-live-4f9a8b7c6d5e", "japanese-label"),
    ("docs/基本設計書.md", "| 暗証番号 | 4821 | 入館カード |", "4821", "japanese-label"),
    ("docs/運用設計書.md", "初期パスワード: Welcome#2026", "Welcome#2026", "japanese-label"),
    ("docs/運用設計書.md", "初期パスワード：Welcome#2026", "Welcome#2026", "japanese-label"),
    ("docs/運用設計書.md", "本番 DB のパスワードは Hunter2-Prod です。", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "管理者パスワード＝abc123", "abc123", "japanese-label"),
    ("docs/運用設計書.md", "- 踏み台の秘密鍵は「bastion-Key#01」で暗号化済み", "bastion-Key#01", "japanese-label"),
    ("docs/運用設計書.md", "- 監視 SaaS のアクセストークン: dd_4f9a8b7c6d5e4f3a", "dd_4f9a8b7c6d5e4f3a",
     "japanese-label"),
    # more particles and separators, a `user / password` pair, NFKC (full-width separators)
    ("docs/運用設計書.md", "- 初期パスワードを Hunter2-Prod に設定する。", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "- 管理画面のパスワードに Hunter2-Prod を設定", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "- DB パスワード -> Hunter2-Prod", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "- DB パスワードの初期値は Hunter2-Prod とする。", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "- 踏み台の認証情報：admin / Hunter2-Prod", "Hunter2-Prod", "japanese-label"),
    ("docs/運用設計書.md", "- 監視 SaaS の認証情報: ops-bot / lowercasesecretphrase", "lowercasesecretphrase",
     "japanese-label"),
    ("docs/運用設計書.md", "初期パスワード＝Ｗｅｌｃｏｍｅ＃２０２６", "Ｗｅｌｃｏｍｅ＃２０２６", "japanese-label"),
    # tables: the value cell after a label is masked whatever it holds; a label after the value
    ("docs/基本設計書.md", "| DB パスワード | `SPACED passphrase words` | 本番のみ |", "SPACED passphrase words",
     "japanese-label"),
    ("docs/基本設計書.md", "| 管理パスワード | lowercaseonlysecretphrase | |", "lowercaseonlysecretphrase",
     "japanese-label"),
    ("docs/基本設計書.md", "| prd | Hunter2-Prod | DB パスワード |", "Hunter2-Prod", "japanese-label"),
    ("docs/基本設計書.md", "| 本番 | lowercasesecretphrase | 管理者パスワード |", "lowercasesecretphrase",
     "japanese-label"),
    ("docs/基本設計書.md", "| ＤＢパスワード | ｈｕｎｔｅｒ２－ｐｒｏｄ |", "ｈｕｎｔｅｒ２－ｐｒｏｄ", "japanese-label"),
    # container environments, any case (Kubernetes, compose, ECS JSON), also in a .md code block
    ("k8s/deployment.yaml", '        - name: API_TOKEN\n          value: "abc123xyz"', "abc123xyz",
     "parameter-file"),
    ("k8s/deployment.yaml", "        - name: db_password\n          value: s3cr3t-pw", "s3cr3t-pw", "parameter-file"),
    ("taskdef.json", '    {"name": "DB_PASSWORD", "value": "Hunter2prod"},', "Hunter2prod", "parameter-file"),
    ("docs/手順書.md", "```yaml\nenv:\n  - name: DB_PASSWORD\n    value: correct horse battery\n```",
     "correct horse battery", "parameter-file"),
    # runbook commands whose password has no secret-named --flag
    ("docs/手順書.md", "```bash\nmysql -h order-db.internal -u app -pHunter2Prod orders\n```", "Hunter2Prod",
     "command-flag"),
    ("docs/手順書.md", "curl -u deploy:Hunter2-Prod https://ci.example.com/job/deploy/build", "Hunter2-Prod",
     "command-flag"),
    ("scripts/push.sh", "docker login -u AWS -p Hunter2Prod 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com",
     "Hunter2Prod", "command-flag"),
    ("docs/手順書.md",
     "aws ssm put-parameter --name /order/prd/db/password --value 'Hunter2-Prod' --type SecureString --overwrite",
     "Hunter2-Prod", "command-flag"),
    ("scripts/param.sh",
     "aws ssm put-parameter \\\n  --name /order/prd/api/key \\\n  --value Hunter2-Prod \\\n  --type String",
     "Hunter2-Prod", "command-flag"),
    ("docs/手順書.md", "sshpass -p 'Hunter2-Prod' ssh ec2-user@bastion.example.com", "Hunter2-Prod", "command-flag"),
    ("docs/手順書.md", "redis-cli -h cache.internal -a Hunter2Prod ping", "Hunter2Prod", "command-flag"),
    ("scripts/cert.sh", "openssl pkcs12 -export -in a.crt -passout pass:Hunter2Prod -out a.p12", "Hunter2Prod",
     "command-flag"),
    ("docs/手順書.md", "PGPASSWORD=Hunter2Prod psql -h order-db.internal -U app orders", "Hunter2Prod", "key-value"),
    ("docs/手順書.md", 'curl -H "Authorization: Basic ZGVwbG95Okh1bnRlcjItUHJvZA==" https://api.example.com/',
     "ZGVwbG95Okh1bnRlcjItUHJvZA==", "key-value"),
    # detect-secrets' own plugins and PEM blocks
    ("scripts/setup.sh", "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE",
     "detect-secrets"),
    ("certs/server.pem", PEM, "MIIEowIBAAKCAQEAx9Jd2f", "private-key"),
])
def test_planted_secret_is_masked_and_counted_under_its_kind(path: str, text: str, secret: str,
                                                            kind: str) -> None:
    redactor = Redactor()
    redacted = redactor.redact(path, text)
    assert secret not in redacted and PLACEHOLDER in redacted
    assert redactor.by_kind == {kind: 1} and redactor.counts == {path: 1}
    assert len(redacted.split("\n")) == len(text.split("\n"))


@pytest.mark.parametrize("path,line", [
    ("template.yaml", "      MasterUserPassword: !Ref DBPassword"),
    ("template.yaml", "      ManageMasterUserPassword: true"),
    ("template.yaml", "      NoEcho: true"),
    ("template.yaml", "      TokenValidityUnits:"),
    ("template.yaml", "        RefreshToken: days"),
    ("template.yaml", "      MasterUserPassword: '{{resolve:secretsmanager:order/prd/db:SecretString:password}}'"),
    ("template.yaml", "      SecretStringTemplate: '{\"username\": \"app\"}'"),
    ("template.yaml", "      GenerateStringKey: password"),
    ("template.yaml", "      KmsKeyId: alias/aws/secretsmanager"),
    ("template.yaml", "            - Name: DB_PASSWORD_SECRET_ARN"),
    (".github/workflows/deploy.yml", "  id-token: write"),
    (".github/workflows/deploy.yml", "          token: ${{ secrets.GITHUB_TOKEN }}"),
    ("main.tf", "  password = random_password.db.result"),
    ("main.tf", "  manage_master_user_password = true"),
    ("scripts/login.sh", "aws ecr get-login-password | docker login --username AWS --password-stdin 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"),
    ("scripts/login.sh", "gh auth login --with-token < /run/secrets/gh"),
    ("scripts/client.sh", "aws cognito-idp create-user-pool-client --user-pool-id x --client-name web --generate-secret"),
    ("scripts/db.sh", "aws ssm get-parameter --name /app/db/password --with-decryption"),
    ("scripts/db.sh", 'echo "$DB_PASSWORD"'),
    ("scripts/db.sh", 'aws rds modify-db-instance --master-user-password "$DB_PASSWORD"'),
    ("scripts/db.sh", 'PGPASSWORD="$(aws secretsmanager get-secret-value --secret-id order/prd/db)" psql'),
    ("scripts/db.sh", "export DB_PASSWORD=${DB_PASSWORD:?}"),
    ("scripts/flags.sh", "export SKIP_BYPASS=1 PASSED_CHECKS=3 COMPASS_REGION=tokyo"),
    ("docs/基本設計書.md", "パスワードは Secrets Manager で自動生成し、ローテーションする。"),
    ("docs/基本設計書.md", "| 項目 | 値 | 備考 |"),
    ("docs/基本設計書.md", "| DB パスワード | Secrets Manager で管理 | ローテーション 30 日 |"),
    ("docs/基本設計書.md", "| 管理者パスワード | 自動生成 | |"),
    ("docs/基本設計書.md", "| 初期パスワード | なし | |"),
    ("docs/基本設計書.md", "| トークン | - | |"),
    ("docs/基本設計書.md", "| シークレット | （別途通知） | |"),
    ("docs/基本設計書.md", "| シークレット名 | order-mgmt/prd/db-2026 | |"),
    ("docs/基本設計書.md", "| パスワードポリシー | 12文字以上、記号を含む | |"),
    ("docs/基本設計書.md", "| トークン有効期限 | 3600 | 秒 |"),
    ("docs/基本設計書.md", "| MasterUserPassword | {{resolve:secretsmanager:order/prd/db:SecretString:password}} | |"),
    ("docs/基本設計書.md", "| ManageMasterUserPassword | true | RDS が管理 |"),
    ("docs/基本設計書.md", "- RDS のマスターパスワードは ManageMasterUserPassword: true で Secrets Manager に保管する。"),
    ("docs/基本設計書.md", "- アクセストークンは Cognito が発行し、有効期限は 60 分とする。"),
    ("docs/基本設計書.md", "- パスワードは 90 日ごとにローテーションする。"),
    ("docs/基本設計書.md", "- パスワードは SHA-256 でハッシュ化して保存する。"),
    ("docs/基本設計書.md", "- トークンは GitHub Actions の OIDC で取得し、長期のアクセスキーは発行しない。"),
    ("docs/基本設計書.md", "- 認証情報: IAM ロール（ecsTaskExecutionRole）"),
    ("docs/基本設計書.md", "- シークレットは `order-mgmt/prd/db` に格納する。"),
    ("docs/基本設計書.md", "- トークンの有効期限: 3600秒"),
    ("docs/基本設計書.md", "- 初期パスワード: （別途通知）"),
    ("docs/基本設計書.md", "- Password: managed by Secrets Manager"),
    # table cells that are no value: nothing, "none", a remark, a store, a path, an ARN, a name
    ("docs/基本設計書.md", "| DB パスワード | 未設定 | |"),
    ("docs/基本設計書.md", "| DB パスワード | ― | |"),
    ("docs/基本設計書.md", "| DB パスワード | 別途通知 | |"),
    ("docs/基本設計書.md", "| DB パスワード | SSM Parameter Store (`/order/prd/db/password`) | SecureString |"),
    ("docs/基本設計書.md", "| DB パスワード | `/order/prd/db/password` | |"),
    ("docs/基本設計書.md", "| DB パスワード | arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:order-db | |"),
    ("docs/基本設計書.md", "| シークレット | order-mgmt/prd/db | SecretString に JSON |"),
    ("docs/基本設計書.md", "| 認証情報 | IAM ロール | ecsTaskExecutionRole |"),
    ("docs/基本設計書.md", "| 秘密鍵 | bastion.pem | 踏み台のみ |"),
    ("docs/基本設計書.md", "| トークン | JWT | Cognito が発行 |"),
    ("docs/基本設計書.md", "| API キー | API Gateway | 使用量プラン |"),
    ("docs/基本設計書.md", "| 秘密鍵 | RSA 2048 | |"),
    ("docs/基本設計書.md", "| prd | DB パスワード | Secrets Manager |"),
    ("docs/基本設計書.md", "| [SRE-SEC-001](#sre-sec-001) | SEC001 | literal-secret | infrastructure | error |"),
    ("docs/基本設計書.md", "| DB パスワード | DB_PASSWORD | 環境変数名 |"),
    # prose: particles followed by a name, a rule or a product
    ("docs/基本設計書.md", "- パスワードを SHA-256 でハッシュ化する。"),
    ("docs/基本設計書.md", "- 秘密鍵を KMS で暗号化して S3 に保存する。"),
    ("docs/基本設計書.md", "- パスワードに記号を含めること。"),
    ("docs/基本設計書.md", "- パスワードは SecureString で保存する。"),
    ("docs/基本設計書.md", "- 認証情報: IAM / SSO"),
    ("docs/基本設計書.md", "- DB パスワード -> Secrets Manager"),
    ("docs/基本設計書.md", "- API キーを x-api-key ヘッダーで送信する。"),
    # commands: other meanings of -p / -u, references, non-secret parameters
    ("docs/手順書.md", "mysql -h order-db.internal -P 3306 -u app -p orders"),
    ("docs/手順書.md", 'mysql -u app -p"$DB_PASSWORD" orders'),
    ("docs/手順書.md", "docker run -p 8080:80 -u 1000:1000 order-api:1.2.3"),
    ("docs/手順書.md", 'curl -u "$CI_USER:$CI_TOKEN" https://ci.example.com/api'),
    ("docs/手順書.md", 'docker login -u AWS -p "$(aws ecr get-login-password)" 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com'),
    ("docs/手順書.md", "aws ssm put-parameter --name /order/prd/log-level --value debug --type String --overwrite"),
    ("docs/手順書.md", 'aws ssm put-parameter --name /order/prd/db/password --value "$(openssl rand -base64 24)" --type SecureString'),
    ("docs/手順書.md", "redis-cli -h cache.internal -p 6379 ping"),
    ("k8s/deployment.yaml", "        - name: LOG_LEVEL\n          value: info"),
    ("k8s/deployment.yaml", "        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef:\n"
                            "              name: order-db\n              key: password"),
    ("docs/基本設計書.md", "| Password | Value |\n|---|---|"),
    ("docs/基本設計書.md", "| DB パスワード | 自動生成 |\n|---|---|\n| DB_USER | app |"),
    # what detect-secrets' keyword plugin and the connection-string pattern used to take
    ("cognito.tf", '    access_token  = "minutes"'),
    ("task.yaml", "              Value: !Sub postgresql://report:${ReportPassword}@${DbHost}:5432/zaiko"),
    ("docs/API動作確認手順.md", 'TOKEN="eyJraWQiOiJ..."'),
])
def test_ordinary_infra_text_is_sent_as_written(path: str, line: str) -> None:
    redactor = Redactor()
    assert redactor.redact(path, line) == line
    assert redactor.by_kind == {}


DESIGN_DOC = """\
## 6. セキュリティ設計

### 6.1 初期ユーザー

| ユーザー | 初期パスワード | 備考 |
|---|:---:|---|
| admin | Adm1n#2026 | 初回ログイン時に変更 |
| **ops** | **0ps-Team!** | 運用チーム共用 |
| viewer | 自動生成 | Secrets Manager で管理 |

| DB パスワード | Hunter2-Prod |
|---|---|
| 接続先 | order-db.cluster-xyz.ap-northeast-1.rds.amazonaws.com |

パスワードは Secrets Manager で自動生成し、ローテーションする。
"""


def test_a_design_doc_table_masks_label_columns_and_label_rows_only() -> None:
    redactor = Redactor()
    redacted = redactor.redact("docs/基本設計書.md", DESIGN_DOC)
    for secret in ("Adm1n#2026", "0ps-Team!", "Hunter2-Prod"):
        assert secret not in redacted
    assert "| **ops** | **[REDACTED]** | 運用チーム共用 |" in redacted
    for kept in ("| viewer | 自動生成 | Secrets Manager で管理 |", "| ユーザー | 初期パスワード | 備考 |",
                 "| 接続先 | order-db.cluster-xyz.ap-northeast-1.rds.amazonaws.com |",
                 "パスワードは Secrets Manager で自動生成し、ローテーションする。"):
        assert kept in redacted
    assert redactor.by_kind == {"japanese-label": 3}
    assert len(redacted.split("\n")) == len(DESIGN_DOC.split("\n"))


def test_a_value_is_counted_once_under_the_first_kind_that_claimed_it() -> None:
    redactor = Redactor()
    token = "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB"   # key-value and detect-secrets both see it
    assert redactor.redact("ci.sh", f"GITHUB_TOKEN={token} gh pr list") == f"GITHUB_TOKEN={PLACEHOLDER} gh pr list"
    assert redactor.by_kind == {"key-value": 1} and set(redactor.by_kind) <= set(KINDS)


def test_a_flagged_line_is_masked_even_when_no_pattern_knows_it() -> None:
    text = "Resources:\n  Config:\n    Value: plainword2026\n"
    assert Redactor().redact("template.yaml", text) == text
    redactor = Redactor(flagged={"template.yaml": {3}})
    assert redactor.redact("template.yaml", text) == f"Resources:\n  Config:\n    Value: {PLACEHOLDER}\n"
    assert redactor.by_kind == {"flagged-by-rules": 1}
    assert Redactor(flagged={"template.yaml": {3}}).redact("other.yaml", text) == text  # per file
    # ... but the value masked there is remembered: masked wherever a later file repeats it
    assert redactor.redact("other.yaml", text) == f"Resources:\n  Config:\n    Value: {PLACEHOLDER}\n"
    assert redactor.by_kind == {"flagged-by-rules": 1, "known-value": 1}


@pytest.mark.parametrize("text,flagged,expected", [
    # the key line reported for a split parameter: the ParameterValue line below is masked
    ('[{\n  "ParameterKey": "DbPw",\n  "ParameterValue": "plainword2026"\n}]', 2,
     f'[{{\n  "ParameterKey": "DbPw",\n  "ParameterValue": "{PLACEHOLDER}"\n}}]'),
    # a YAML block scalar: the value is the next line
    ("Default: |\n  plainword2026", 1, f"Default: |\n  {PLACEHOLDER}"),
    # no separator: the line's content after its indentation
    ("  plainword2026 # rotate", 1, f"  {PLACEHOLDER}"),
])
def test_the_value_part_of_a_flagged_line(text: str, flagged: int, expected: str) -> None:
    redactor = Redactor(flagged={"f": {flagged}})
    assert redactor.redact("f", text) == expected
    assert redactor.by_kind == {"flagged-by-rules": 1}


def test_a_flagged_command_continued_over_lines_is_masked_whole_and_counted_once() -> None:
    text = "mytool deploy \\\n  --db-pw plainword2026 \\\n  --stage prd\necho done"
    redactor = Redactor(flagged={"deploy.sh": {1}})
    redacted = redactor.redact("deploy.sh", text).split("\n")
    assert "plainword2026" not in "\n".join(redacted) and redacted[3] == "echo done"
    assert redactor.by_kind == {"flagged-by-rules": 1} and len(redacted) == 4


def _finding(rule_id: str, file: str | None, line: int | None, **extra) -> Finding:
    return Finding(id=rule_id, source="sre", severity=Severity.ERROR,
                   perspective=Perspective.INFRASTRUCTURE, file=file, line=line,
                   message="m", remediation="r", **extra)


def test_flagged_lines_takes_sec001_and_checkov_secrets_only() -> None:
    findings = [
        _finding("SRE-SEC-001", "template.yaml", 15),
        _finding("SRE-SEC-001", "params/prd.json", 4, suppressed=True),   # accepted, still secret
        _finding("checkov:CKV_SECRET_6", "scripts/deploy.sh", 3),
        _finding("SRE-SEC-002", "template.yaml", 20, related_ids=["checkov:CKV_SECRET_2"]),
        _finding("SRE-MAZ-001", "template.yaml", 8),
        _finding("SRE-SEC-001", None, None),
    ]
    assert flagged_lines(findings) == {"template.yaml": {15, 20}, "params/prd.json": {4},
                                       "scripts/deploy.sh": {3}}


TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
    Default: Juhacchu#2024
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      DBInstanceClass: db.t4g.micro
      AllocatedStorage: '20'
      MasterUsername: app
      MasterUserPassword: 'Pa55w0rd-Prod'
"""
PARAMETERS = """\
[
  {
    "ParameterKey": "DbPassword",
    "ParameterValue": "Sup3rS3cretPw!"
  }
]
"""


def test_flagged_lines_from_a_real_review_reach_the_context_redactor(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "prd.json").write_text(PARAMETERS, encoding="utf-8")
    result = review([tmp_path], ReviewConfig(llm="off", analyzers=("sre",)))
    flagged = flagged_lines(result.findings)
    # SEC001 reports the value's line: the Default, the property, and for a split JSON
    # parameter the ParameterValue line (not the ParameterKey line).
    assert flagged == {"template.yaml": {6, 15}, "params/prd.json": {4}}

    context = select_context(load_project([tmp_path]), flagged=flagged)
    sent = "\n".join(f.numbered for f in context.files)
    for secret in ("Juhacchu#2024", "Pa55w0rd-Prod", "Sup3rS3cretPw!"):
        assert secret not in sent
    assert "Default: [REDACTED]" in sent and "MasterUserPassword: '[REDACTED]'" in sent
    # `Default:` names no secret: only the finding's line number catches it
    assert context.redactor.by_kind == {"flagged-by-rules": 1, "key-value": 1, "parameter-file": 1}
    assert sum(context.redactor.counts.values()) == 3


@pytest.mark.parametrize("line,expected", [
    # NFKC for matching, the original characters masked, the rest of the line as written
    ("パスワード：ｈｕｎｔｅｒ２－ｐｒｏｄ", "パスワード：[REDACTED]"),
    ("| ＤＢパスワード | ｈｕｎｔｅｒ２－ｐｒｏｄ | 本番のみ |", "| ＤＢパスワード | [REDACTED] | 本番のみ |"),
    ("- 認証情報：admin / Hunter2-Prod（踏み台）", "- 認証情報：admin / [REDACTED]（踏み台）"),
    ("- 予備のパスワード: Hunter2-Prod / Backup#2026", "- 予備のパスワード: [REDACTED] / [REDACTED]"),
    ("| prd | Hunter2-Prod | DB パスワード | 四半期ごとに変更 |", "| prd | [REDACTED] | DB パスワード | 四半期ごとに変更 |"),
])
def test_japanese_labels_mask_the_value_only(line: str, expected: str) -> None:
    assert Redactor().redact("docs/運用設計書.md", line) == expected


def test_a_label_column_is_masked_in_every_data_row() -> None:
    table = ("| 環境 | DB ユーザー | DB パスワード | 備考 |\n|---|---|---|---|\n"
             "| prd | app | lowercasesecretphrase | 本番 |\n| stg | app | `Hunter2 Stg` | |\n"
             "| dev | app | 自動生成 | |\n| qa | app | （別途通知） | |\n| dr | app | Secrets Manager で管理 | |")
    redactor = Redactor()
    assert redactor.redact("docs/基本設計書.md", table).split("\n") == [
        "| 環境 | DB ユーザー | DB パスワード | 備考 |", "|---|---|---|---|",
        "| prd | app | [REDACTED] | 本番 |", "| stg | app | `[REDACTED]` | |", "| dev | app | 自動生成 | |",
        "| qa | app | （別途通知） | |", "| dr | app | Secrets Manager で管理 | |"]
    assert redactor.by_kind == {"japanese-label": 2}


PARAMS_JSON = '[\n  {"ParameterKey": "OidcClientSecret", "ParameterValue": "OIDC-SECRET-9f8e7d6c"}\n]'


def test_a_masked_value_is_remembered_and_masked_in_later_files() -> None:
    redactor = Redactor()
    redactor.redact("params/prd.json", PARAMS_JSON)
    readme = ("# README\n\nローカルでは OIDC-SECRET-9f8e7d6c を指定する。\n"
              "本番と同じ値（ＯＩＤＣ－ＳＥＣＲＥＴ－９ｆ８ｅ７ｄ６ｃ）は使わないこと。")
    redacted = redactor.redact("README.md", readme)
    assert redacted == ("# README\n\nローカルでは [REDACTED] を指定する。\n"
                        "本番と同じ値（[REDACTED]）は使わないこと。")
    assert redactor.by_kind == {"parameter-file": 1, "known-value": 2}
    assert redactor.counts == {"params/prd.json": 1, "README.md": 2}


def test_scrub_masks_remembered_values_in_any_text() -> None:
    redactor = Redactor()
    assert redactor.scrub("E3031 'x' does not match") == "E3031 'x' does not match"   # nothing known yet
    redactor.redact("params/prd.json", PARAMS_JSON)
    redactor.redact("docs/基本設計書.md", "| DB パスワード | Hunter2-Prod |\n| DB パスワード（旧） | Hunter2 |")
    message = ("E3031 'OIDC-SECRET-9f8e7d6c' does not match '^[a-z]+$'\n"
               "docs: 旧パスワード Hunter2 と Hunter2-Prod")
    assert redactor.scrub(message) == ("E3031 '[REDACTED]' does not match '^[a-z]+$'\n"
                                       "docs: 旧パスワード [REDACTED] と [REDACTED]")   # longest first
    assert redactor.by_kind["known-value"] == 3 and redactor.counts["(other text)"] == 3
    assert "known-value" in KINDS


def test_only_values_worth_it_are_remembered() -> None:
    redactor = Redactor()
    redactor.redact("task.yaml", "Value: postgresql://app:password@localhost:5432/db")   # a bare secret word
    redactor.redact("docs/基本設計書.md", "| 暗証番号 | 4821 |")                             # a short number
    text = "password の桁数は 4821 件中 12 件"
    assert redactor.scrub(text) == text and redactor.redact("docs/x.md", text) == text
    assert redactor.by_kind == {"connection-string": 1, "japanese-label": 1}


def test_redact_all_masks_a_value_found_in_a_later_file_in_an_earlier_one() -> None:
    redactor = Redactor()
    template = "Parameters:\n  OidcClientSecret:\n    Description: dev value OIDC-SECRET-9f8e7d6c\n"
    texts = redactor.redact_all([("template.yaml", template), ("params/prd.json", PARAMS_JSON)])
    assert texts[0] == template.replace("OIDC-SECRET-9f8e7d6c", PLACEHOLDER)
    assert "OIDC-SECRET-9f8e7d6c" not in texts[1]
    assert redactor.counts == {"template.yaml": 1, "params/prd.json": 1}


def test_the_context_masks_a_parameter_file_value_in_every_file_sent(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  OidcClientSecret:\n    Type: String\n"
        "    NoEcho: true\n    Description: dev value OIDC-SECRET-9f8e7d6c\nResources:\n  Topic:\n"
        "    Type: AWS::SNS::Topic\n", encoding="utf-8")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "prd.json").write_text(PARAMS_JSON, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "運用手順書.md").write_text(
        "# 運用手順書\n\n## デプロイ手順\n\n1. `OIDC-SECRET-9f8e7d6c` を指定して create-stack を実行する。\n",
        encoding="utf-8")
    context = select_context(load_project([tmp_path]))
    assert {f.path for f in context.files} == {"template.yaml", "params/prd.json", "docs/運用手順書.md"}
    sent = "\n".join(f.numbered for f in context.files)
    assert "OIDC-SECRET-9f8e7d6c" not in sent and sent.count(PLACEHOLDER) == 3
    assert context.redactor.by_kind == {"parameter-file": 1, "known-value": 2}
    assert context.redactor.scrub("E3031 'OIDC-SECRET-9f8e7d6c' does not match") == \
        "E3031 '[REDACTED]' does not match"


def test_a_value_from_a_document_not_sent_is_masked_where_a_sent_one_repeats_it(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "要件定義書.md").write_text(       # no infra section: not sent, still read
        "# 要件定義書\n\n## 業務要件\n\n| 管理パスワード | Req-Admin-Pw88 |\n|---|---|\n", encoding="utf-8")
    (tmp_path / "docs" / "運用手順書.md").write_text(
        "# 運用手順書\n\n## デプロイ手順\n\n1. 接続確認は Req-Admin-Pw88 で行う。\n", encoding="utf-8")
    context = select_context(load_project([tmp_path]))
    assert [f.path for f in context.files] == ["docs/運用手順書.md"]
    assert "1. 接続確認は [REDACTED] で行う。" in context.files[0].numbered
    assert context.redactor.by_kind == {"known-value": 1}
    assert context.redactor.counts == {"docs/運用手順書.md": 1}   # the unsent file counts nothing
