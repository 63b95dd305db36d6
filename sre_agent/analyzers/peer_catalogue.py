"""The reviewed list of cfn-lint and checkov checks that earn a line in the review.

Peer tools report everything at the level their authors chose, in English. In a Japanese review
that buries the few findings that break a deploy (a nested stack whose `TemplateURL` is a local
path, an RDS engine version that can no longer be created) under dozens of redundant `DependsOn`
and unused parameters. So the review shows only what is listed here, at the level we chose and
under our own title in both languages; every other check goes to the appendix (info) with the
tool's own title. One exception: a cfn-lint error that CloudFormation would reject the template
for is always worth a ❌, curated or not, so it keeps error under a generic title.

Severity follows the spec's guide: error = breaks a deploy, loses data or is exploitable as
written; warning = reliability, monitoring or security hardening an SRE would act on. Every id
below exists in the installed cfn-lint / checkov (tests/test_analyzers.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sre_agent.models import Perspective, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO
OPS, INFRA, MON, COST = (Perspective.OPERABILITY, Perspective.INFRASTRUCTURE,
                         Perspective.MONITORING, Perspective.COST)


@dataclass(frozen=True)
class Placement:
    """Where a peer finding lands (section and level) and what the item line calls it."""

    perspective: Perspective
    severity: Severity
    ja: str
    en: str
    curated: bool = True


P = Placement

CFN_LINT: dict[str, Placement] = {
    # --- error: the deploy fails, now or on the next rebuild / DR -----------------------------
    "W3002": P(OPS, E, "ローカルパスを参照（`aws cloudformation package` なしではデプロイ不可）",
               "Local path reference: deploys only through `aws cloudformation package`"),
    "W3691": P(INFRA, E, "RDS のエンジンバージョンが非推奨で新規作成できない（再構築・DR 不可）",
               "Deprecated RDS engine version: cannot be created again (rebuild, DR)"),
    "W3690": P(INFRA, E, "DB クラスターのエンジンバージョンが非推奨で新規作成できない（再構築・DR 不可）",
               "Deprecated DB cluster engine version: cannot be created again (rebuild, DR)"),
    "E3691": P(INFRA, E, "RDS のエンジンとバージョンの組み合わせが存在しない",
               "RDS engine version does not exist"),
    "E3690": P(INFRA, E, "DB クラスターのエンジンとバージョンの組み合わせが存在しない",
               "DB cluster engine version does not exist"),
    "E3695": P(INFRA, E, "ElastiCache のエンジンとバージョンの組み合わせが存在しない",
               "ElastiCache engine version does not exist"),
    "E3025": P(INFRA, E, "RDS のインスタンスクラスがこのリージョンで使えない",
               "RDS instance class not available in the region"),
    "E3062": P(INFRA, E, "RDS のインスタンスクラスがこのエンジン・バージョンで使えない",
               "RDS instance class not supported by the engine version"),
    "E2531": P(INFRA, E, "Lambda のランタイムがサポート終了で作成できない",
               "Lambda runtime past end of life: cannot be created"),
    "E2533": P(INFRA, E, "Lambda のランタイムがサポート終了で更新できない",
               "Lambda runtime past end of life: cannot be updated"),
    "E3710": P(INFRA, E, "提供終了したサービスのリソース型", "Resource type of a shut-down service"),
    "E3004": P(INFRA, E, "リソースの依存関係が循環（スタックを作成できない）",
               "Circular resource dependency: the stack cannot be created"),
    "E3019": P(INFRA, E, "同じ物理名のリソースが重複（2 つ目の作成が失敗）",
               "Two resources with the same physical name: the second create fails"),
    "E3006": P(INFRA, E, "このリージョンに存在しないリソース型", "Resource type unknown in the region"),
    "E3003": P(INFRA, E, "必須プロパティの指定漏れ", "Required property missing"),
    "E3002": P(INFRA, E, "存在しないプロパティを指定", "Unknown resource property"),
    "E3012": P(INFRA, E, "プロパティの値の型が誤り", "Property value of the wrong type"),
    "E3030": P(INFRA, E, "プロパティに許可されていない値", "Property value not among the allowed values"),
    "E1010": P(INFRA, E, "GetAtt が存在しないリソース・属性を参照", "GetAtt to a missing resource or attribute"),
    "E1029": P(INFRA, E, "`${}` 変数が Fn::Sub なしで書かれている", "`${}` variable outside Fn::Sub"),
    "E3005": P(INFRA, E, "DependsOn が存在しないリソースを参照", "DependsOn names a missing resource"),
    # --- warning: data protection and deploy paths that break for one environment -------------
    "W3011": P(OPS, W, "DeletionPolicy と UpdateReplacePolicy の片方だけ指定（置換時にデータ消失）",
               "Only one of DeletionPolicy / UpdateReplacePolicy: data lost on replacement"),
    "W1001": P(INFRA, W, "条件によっては存在しないリソースを参照（一部の環境でデプロイ失敗）",
               "Reference to a conditional resource: the deploy fails in some environments"),
    "W8003": P(OPS, W, "Fn::Equals が常に真または偽（環境ごとの条件が効いていない）",
               "Fn::Equals is always true or false: the environment condition never applies"),
    "W2030": P(INFRA, W, "パラメータの値がプロパティの許容値外（その値でデプロイ失敗）",
               "Parameter value not allowed by the property it feeds: the deploy fails with it"),
    "W2031": P(INFRA, W, "パラメータの値がプロパティの形式に合わない（その値でデプロイ失敗）",
               "Parameter value does not match the property's pattern: the deploy fails with it"),
    "W3010": P(INFRA, W, "アベイラビリティゾーン名をハードコード", "Availability Zone name hard-coded"),
    "W2531": P(INFRA, W, "Lambda のランタイムがサポート終了（EOL）", "Lambda runtime past end of life"),
    "W3696": P(INFRA, W, "提供終了予定のサービスのリソース型", "Resource type of a sunsetting service"),
    "W3694": P(MON, W, "SNS サブスクリプションのエンドポイントがプロトコルと不一致（通知が届かない）",
               "SNS subscription endpoint does not match its protocol: notifications never arrive"),
    "W3037": P(INFRA, W, "IAM ポリシーに存在しないアクション（権限が付与されない）",
               "IAM policy names an unknown action: the permission is never granted"),
    # --- warning: secrets handled in the template ---------------------------------------------
    "W1011": P(INFRA, W, "秘密情報をパラメータで受け渡し（動的参照を使う）",
               "Secret passed as a parameter instead of a dynamic reference"),
    "W2501": P(INFRA, W, "パスワードを平文または NoEcho なしで指定", "Password hard-coded or without NoEcho"),
    "W2010": P(INFRA, W, "NoEcho パラメータが Outputs / Metadata で露出",
               "NoEcho parameter exposed in Outputs / Metadata"),
    # --- warning: part of the check is missing -----------------------------------------------
    "E0002": P(OPS, W, "cfn-lint の検査の一部が実行できなかった", "Part of cfn-lint could not run"),
    "E0003": P(OPS, W, "cfn-lint の設定エラー", "cfn-lint configuration error"),
}

# Template sections whose cfn-lint errors CloudFormation rejects the template for: parsing and
# template (E0, E1), parameters (E2), resources (E3), modules (E5), outputs (E6), mappings (E7),
# conditions (E8). E4 (Metadata interface) is only read by the console.
REJECTED = ("E0", "E1", "E2", "E3", "E5", "E6", "E7", "E8")
TEMPLATE_ERROR = P(INFRA, E, "テンプレートの構文・スキーマエラー（CloudFormation が受け付けない）",
                   "Template syntax or schema error: CloudFormation rejects it", curated=False)

CHECKOV: dict[str, Placement] = {
    # --- error: exposed to the internet or a secret as written --------------------------------
    "CKV_AWS_17": P(INFRA, E, "RDS がインターネットに公開", "RDS publicly accessible"),
    "CKV_AWS_87": P(INFRA, E, "Redshift がインターネットに公開", "Redshift publicly accessible"),
    "CKV_AWS_89": P(INFRA, E, "DMS レプリケーションインスタンスがインターネットに公開",
                    "DMS replication instance publicly accessible"),
    "CKV_AWS_69": P(INFRA, E, "Amazon MQ ブローカーがインターネットに公開",
                    "Amazon MQ broker publicly accessible"),
    "CKV_AWS_102": P(INFRA, E, "Neptune がインターネットに公開", "Neptune publicly accessible"),
    "CKV_AWS_302": P(INFRA, E, "DB スナップショットが公開", "DB snapshot public"),
    "CKV_AWS_20": P(INFRA, E, "S3 バケットが誰でも読み取り可能（ACL）", "S3 bucket readable by everyone (ACL)"),
    "CKV_AWS_57": P(INFRA, E, "S3 バケットが誰でも書き込み可能（ACL）", "S3 bucket writable by everyone (ACL)"),
    "CKV_AWS_24": P(INFRA, E, "SSH (22) が 0.0.0.0/0 に開放", "SSH (22) open to 0.0.0.0/0"),
    "CKV_AWS_25": P(INFRA, E, "RDP (3389) が 0.0.0.0/0 に開放", "RDP (3389) open to 0.0.0.0/0"),
    "CKV_AWS_277": P(INFRA, E, "全ポートが 0.0.0.0/0 に開放", "All ports open to 0.0.0.0/0"),
    "CKV_AWS_100": P(INFRA, E, "EKS ノードの SSH が 0.0.0.0/0 に開放", "EKS node SSH open to 0.0.0.0/0"),
    "CKV_AWS_41": P(INFRA, E, "provider に AWS アクセスキーを直書き", "AWS access key hard-coded in the provider"),
    "CKV_AWS_45": P(INFRA, E, "Lambda の環境変数に秘密情報", "Secret in Lambda environment variables"),
    "CKV_AWS_46": P(INFRA, E, "EC2 ユーザーデータに秘密情報", "Secret in EC2 user data"),
    "CKV_AWS_384": P(INFRA, E, "Parameter Store の値に秘密情報を直書き", "Secret hard-coded in a Parameter Store value"),
    "CKV_GHA_2": P(OPS, E, "ワークフローの run がシェルインジェクション可能",
                   "Workflow run step open to shell injection"),
    # --- warning: availability and data protection --------------------------------------------
    "CKV_AWS_157": P(INFRA, W, "RDS がシングルAZ", "RDS not multi-AZ"),
    "CKV2_AWS_50": P(INFRA, W, "ElastiCache の自動フェイルオーバー（Multi-AZ）が無効",
                     "ElastiCache without multi-AZ automatic failover"),
    "CKV_AWS_293": P(INFRA, W, "DB の削除保護が無効", "DB deletion protection off"),
    "CKV_AWS_139": P(INFRA, W, "RDS クラスターの削除保護が無効", "RDS cluster deletion protection off"),
    "CKV_AWS_150": P(INFRA, W, "ロードバランサーの削除保護が無効", "Load balancer deletion protection off"),
    "CKV_AWS_133": P(OPS, W, "RDS の自動バックアップが無効", "RDS automated backups off"),
    "CKV_AWS_134": P(OPS, W, "ElastiCache (Redis) の自動バックアップが無効", "ElastiCache (Redis) backups off"),
    "CKV_AWS_360": P(OPS, W, "DocumentDB のバックアップ保持期間が短い", "DocumentDB backup retention too short"),
    "CKV_AWS_361": P(OPS, W, "Neptune の自動バックアップが不十分", "Neptune automated backups insufficient"),
    "CKV_AWS_343": P(OPS, W, "Redshift の自動スナップショットが無効", "Redshift automatic snapshots off"),
    "CKV_AWS_28": P(OPS, W, "DynamoDB のポイントインタイムリカバリ無効", "DynamoDB point-in-time recovery off"),
    "CKV_AWS_165": P(OPS, W, "DynamoDB グローバルテーブルのポイントインタイムリカバリ無効",
                     "DynamoDB global table point-in-time recovery off"),
    "CKV_AWS_21": P(OPS, W, "S3 のバージョニングが無効", "S3 versioning off"),
    "CKV_AWS_51": P(OPS, W, "ECR のタグが上書き可能（ロールバックで別イメージを取得）",
                    "ECR tags mutable: a rollback may pull another image"),
    "CKV_AWS_363": P(INFRA, W, "Lambda のランタイムが非推奨", "Lambda runtime deprecated"),
    # --- warning: monitoring and audit trail --------------------------------------------------
    "CKV_AWS_118": P(MON, W, "RDS の拡張モニタリングが無効", "RDS enhanced monitoring off"),
    "CKV_AWS_129": P(MON, W, "RDS のログ出力が無効", "RDS log exports off"),
    "CKV_AWS_324": P(MON, W, "RDS クラスターのログ出力が無効", "RDS cluster log capture off"),
    "CKV_AWS_65": P(MON, W, "ECS の Container Insights が無効", "ECS Container Insights off"),
    "CKV_AWS_91": P(MON, W, "ALB / NLB のアクセスログが無効", "ALB / NLB access logs off"),
    "CKV_AWS_92": P(MON, W, "ELB のアクセスログが無効", "ELB access logs off"),
    "CKV_AWS_76": P(MON, W, "API Gateway のアクセスログが無効", "API Gateway access logs off"),
    "CKV_AWS_95": P(MON, W, "API Gateway (v2) のアクセスログが無効", "API Gateway (v2) access logs off"),
    "CKV_AWS_67": P(MON, W, "CloudTrail が全リージョン対象でない", "CloudTrail not multi-region"),
    "CKV_AWS_251": P(MON, W, "CloudTrail のログ記録が無効", "CloudTrail logging off"),
    "CKV2_AWS_11": P(MON, W, "VPC フローログが無効", "VPC flow logs off"),
    "CKV_AWS_319": P(MON, W, "CloudWatch アラームのアクションが無効", "CloudWatch alarm actions disabled"),
    # --- warning: cost ------------------------------------------------------------------------
    "CKV_AWS_66": P(COST, W, "ロググループの保持期間が未設定（無期限に課金）",
                    "Log group without retention: storage billed forever"),
    # --- warning: security hardening ----------------------------------------------------------
    "CKV_AWS_16": P(INFRA, W, "RDS の保存時暗号化が無効", "RDS storage not encrypted"),
    "CKV_AWS_96": P(INFRA, W, "Aurora の保存時暗号化が無効", "Aurora storage not encrypted"),
    "CKV_AWS_3": P(INFRA, W, "EBS の暗号化が無効", "EBS not encrypted"),
    "CKV_AWS_8": P(INFRA, W, "起動設定の EBS が暗号化されていない", "Launch configuration EBS not encrypted"),
    "CKV_AWS_42": P(INFRA, W, "EFS の暗号化が無効", "EFS not encrypted"),
    "CKV_AWS_29": P(INFRA, W, "ElastiCache の保存時暗号化が無効", "ElastiCache not encrypted at rest"),
    "CKV_AWS_30": P(INFRA, W, "ElastiCache の通信暗号化が無効", "ElastiCache not encrypted in transit"),
    "CKV_AWS_64": P(INFRA, W, "Redshift の暗号化が無効", "Redshift not encrypted"),
    "CKV_AWS_74": P(INFRA, W, "DocumentDB の暗号化が無効", "DocumentDB not encrypted"),
    "CKV_AWS_44": P(INFRA, W, "Neptune の暗号化が無効", "Neptune not encrypted"),
    "CKV_AWS_5": P(INFRA, W, "Elasticsearch の保存時暗号化が無効", "Elasticsearch not encrypted at rest"),
    "CKV_AWS_58": P(INFRA, W, "EKS の Secrets 暗号化が無効", "EKS secrets encryption off"),
    "CKV_AWS_7": P(INFRA, W, "KMS キーのローテーションが無効", "KMS key rotation off"),
    "CKV_AWS_2": P(INFRA, W, "ALB のリスナーが HTTPS でない", "ALB listener not HTTPS"),
    "CKV_AWS_34": P(INFRA, W, "CloudFront が HTTP を許可", "CloudFront allows HTTP"),
    "CKV_AWS_83": P(INFRA, W, "Elasticsearch が HTTPS を強制していない", "Elasticsearch does not enforce HTTPS"),
    "CKV_AWS_79": P(INFRA, W, "EC2 で IMDSv1 が有効", "EC2 allows IMDSv1"),
    "CKV_AWS_88": P(INFRA, W, "EC2 インスタンスにパブリック IP", "EC2 instance with a public IP"),
    "CKV_AWS_38": P(INFRA, W, "EKS の API エンドポイントが 0.0.0.0/0 に公開", "EKS endpoint open to 0.0.0.0/0"),
    "CKV_AWS_258": P(INFRA, W, "Lambda 関数 URL が認証なし", "Lambda function URL without auth"),
    "CKV_AWS_59": P(INFRA, W, "API Gateway のメソッドが認証なし", "API Gateway method without auth"),
    "CKV_AWS_366": P(INFRA, W, "Cognito ID プールが未認証アクセスを許可", "Cognito identity pool allows guests"),
    "CKV_AWS_32": P(INFRA, W, "ECR のリポジトリポリシーが公開", "ECR repository policy public"),
    "CKV_AWS_33": P(INFRA, W, "KMS キーポリシーのプリンシパルが *", "KMS key policy with a * principal"),
    "CKV_AWS_60": P(INFRA, W, "IAM ロールを誰でも引き受けられる", "IAM role assumable by anyone"),
    "CKV_AWS_61": P(INFRA, W, "IAM ポリシーが全サービスへの AssumeRole を許可",
                    "IAM policy allows AssumeRole across all services"),
    "CKV_AWS_62": P(INFRA, W, "IAM ポリシーが管理者権限 (*:*)", "IAM policy grants full admin (*:*)"),
    "CKV_AWS_63": P(INFRA, W, "IAM ポリシーのアクションが *", "IAM policy with * actions"),
    "CKV_AWS_110": P(INFRA, W, "IAM ポリシーが権限昇格を許可", "IAM policy allows privilege escalation"),
    # --- warning: CI workflows ------------------------------------------------------------------
    "CKV_GHA_1": P(OPS, W, "ワークフローで ACTIONS_ALLOW_UNSECURE_COMMANDS が有効",
                   "Workflow enables ACTIONS_ALLOW_UNSECURE_COMMANDS"),
    "CKV_GHA_3": P(OPS, W, "ワークフローが curl で秘密情報を送信", "Workflow sends secrets with curl"),
    "CKV_GHA_4": P(OPS, W, "ワークフローが netcat で IP に接続", "Workflow connects to an IP with netcat"),
    "CKV2_GHA_1": P(OPS, W, "ワークフローの permissions が write-all", "Workflow permissions are write-all"),
}
# detect-secrets plugins have one id per kind of secret; all of them are the same problem.
CHECKOV_PREFIXES: dict[str, Placement] = {
    "CKV_SECRET_": P(INFRA, E, "秘密情報がファイルに平文で記載（履歴にも残るためローテーションが必要）",
                     "Secret in plain text in a file (in the history too: rotate it)"),
}


def appendix(title: str) -> Placement:
    """An uncurated check: kept for the appendix, under the tool's own title."""
    return P(INFRA, I, title, title, curated=False)


def place_cfn_lint(rule_id: str, shortdesc: str) -> Placement:
    if rule_id in CFN_LINT:
        return CFN_LINT[rule_id]
    if rule_id.startswith(REJECTED):
        return TEMPLATE_ERROR
    return appendix(shortdesc)


def place_checkov(check_id: str, check_name: str) -> Placement:
    if check_id in CHECKOV:
        return CHECKOV[check_id]
    for prefix, placement in CHECKOV_PREFIXES.items():
        if check_id.startswith(prefix):
            return placement
    return appendix(check_name)
