"""The shell's verbs for on-premises sites: cutting and mending a VPN tunnel or a Direct Connect
link (``fail``/``recover`` hand them here), and changing what a site's router announces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpclab.intent.values import parse_network


class SiteVerbs:
    """Mixed into the shell: needs ``say``, ``usage``, ``do_fail``, ``do_recover`` and ``emulation``."""

    if TYPE_CHECKING:  # what the shell (vpclab.ui.shell.VpcCLI) provides
        emulation: Any

        def say(self, text: str) -> None: ...
        def usage(self, method) -> None: ...
        def do_fail(self, line: str) -> Any: ...
        def do_recover(self, line: str) -> Any: ...

    def do_announce(self, line):
        """Usage: announce SITE PREFIX  -- the site's router announces PREFIX too, over every BGP
        session (its VPNs' tunnels, its Direct Connect links). What AWS's ends learn is what the
        gateways route by: `routes`, `trace` show it within a few seconds."""
        return self._announcement(line, True)

    def do_withdraw(self, line):
        """Usage: withdraw SITE PREFIX  -- the site's router stops announcing PREFIX over BGP;
        AWS's gateways drop the routes their sessions no longer hold."""
        return self._announcement(line, False)

    def _announcement(self, line: str, adding: bool):
        method = self.do_announce if adding else self.do_withdraw
        words = line.split()
        sites = getattr(self.emulation, "sites", None)
        if len(words) != 2:
            return self.usage(method)
        known = [s.name for s in self.emulation.topology.hybrid.sites]
        if words[0] not in known:
            return self.say(f"*** no site '{words[0]}' (sites: {', '.join(known) or 'none'})")
        try:
            prefix = str(parse_network(words[1]))
        except ValueError as error:
            return self.say(f"*** {words[1]}: {error}")
        if sites is None or sites.daemon(f"site-{words[0]}") is None:
            return self.say(f"*** {words[0]}'s router speaks no BGP (a static VPN's routes are configured)")
        now = sites.announcements(words[0])
        if (prefix in now) == adding:
            return self.say(
                f"*** {words[0]} {'already announces' if adding else 'does not announce'} {prefix}"
            )
        sites.announce(words[0], [*now, prefix] if adding else [p for p in now if p != prefix])
        verb = "announces" if adding else "no longer announces"
        return self.say(
            f"*** {words[0]} {verb} {prefix}; AWS's ends learn it over BGP, the gateways follow "
            "(`changes` lists each session's `bgp-learned`)"
        )

    def _tunnel(self, words: list[str], failing: bool):
        """``fail tunnel CONNECTION N``: the tunnel carries nothing until ``recover``."""
        method = self.do_fail if failing else self.do_recover
        sites = self.emulation.sites
        if len(words) != 2 or not words[1].isdigit():
            return self.usage(method)
        key = (words[0], int(words[1]))
        if key not in sites.ends:
            known = ", ".join(sorted({c for c, _ in sites.ends})) or "none live"
            return self.say(f"*** no tunnel {words[1]} of VPN connection '{words[0]}' (connections: {known})")
        what = f"{words[0]} tunnel {words[1]}"
        if failing == (not sites.tunnel_is_up(*key)):
            return self.say(f"*** {what} is already {'down' if failing else 'up'}")
        sites.fail_tunnel(*key, up=not failing)
        if failing:
            return self.say(
                f"*** {what}: cut; AWS's side notices within its hold time ({sites.hold_time} s), "
                "then its routes move (`routes`, `trace` show where)"
            )
        return self.say(f"*** {what}: mended; AWS's side takes it back once its BGP session (or DPD) is up")

    def _link(self, words: list[str], failing: bool):
        """``fail dx CONNECTION``: the Direct Connect link carries nothing until ``recover``."""
        sites = self.emulation.sites
        links = [link.name for link in sites.topology.hybrid.dx_connections]
        if len(words) != 1:
            return self.usage(self.do_fail if failing else self.do_recover)
        if words[0] not in links:
            known = ", ".join(links) or "none"
            return self.say(f"*** no Direct Connect connection '{words[0]}' (connections: {known})")
        what = f"Direct Connect {words[0]}"
        if failing == (not sites.link_is_up(words[0])):
            return self.say(f"*** {what} is already {'down' if failing else 'up'}")
        sites.fail_link(words[0], up=not failing)
        if failing:
            return self.say(
                f"*** {what}: cut; the site's router drops its session now, AWS's side within its "
                f"hold time ({sites.hold_time} s), then their routes move to the VPN"
            )
        return self.say(f"*** {what}: mended; both sides take it back once its BGP session is up")
