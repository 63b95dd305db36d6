"""デプロイ安全性とロールバック (deploy safety) rules."""
