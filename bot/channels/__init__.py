"""Channel adapters: how Relais receives from and sends to each provider."""
