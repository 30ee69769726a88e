"""One module per dataset; each registers itself in `halo_forge.data.registry`."""
