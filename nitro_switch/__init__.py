"""The emulated hardware: servers with their Nitro cards (OVS), the underlay, instance hosts."""
