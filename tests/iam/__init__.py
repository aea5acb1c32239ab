"""IAM proofs over the policy documents the compiler emits: parliament's lint and the escalation evaluator."""
