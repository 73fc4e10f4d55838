"""AWS plumbing shared by the cloud adapters: `clients` (the process's boto3
clients, injectable)."""
