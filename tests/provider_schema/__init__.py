"""Offline hashicorp/aws provider-schema checker for compiled Terraform JSON.

* ``refresh.py`` regenerates ``aws-5.100.0.json`` (a trimmed
  ``terraform providers schema -json``) — needs terraform + the provider.
* ``check.py`` validates ``out/<env>/*.tf.json`` against that committed
  file with no terraform binary and no network.
"""
