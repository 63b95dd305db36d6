"""シークレット (secrets) rules."""
