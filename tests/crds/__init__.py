"""The CRD schemas tests/test_kubernetes.py validates custom resources against: where they come from
(fetch.py, the install step that make test and make check run) and how a document is checked (schemas.py).
README.md beside this file names every source and its version."""
