"""tmsc: compile a TMS platform spec into Terraform JSON."""
