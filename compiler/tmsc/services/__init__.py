"""One module per service family; each turns the model and the plan into Terraform blocks."""
