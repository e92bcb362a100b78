// nd6: IPv6 neighbour discovery, checked against Click 2.1 (configured
// with --enable-ip6). IP6NDAdvertiser answers solicitations for a proxied
// prefix and an exact address (none for an unknown target or a bad hop
// limit); IP6NDSolicitor holds a packet for an unresolved neighbour,
// solicits it, and sends the packet once the advertisement comes, the
// next one at once.
define($IN input.pcap, $OUT out);

// Packets an element makes: Click stamps them with the time of day, this
// engine with the input's time; both get a fixed one.
elementclass Dump { $f | input -> SetTimestamp(1000000000) -> ToDump($OUT/$f) }

FromDump($IN, STOP true)
  -> c :: Classifier(12/86dd 20/3a 54/87, 12/86dd 20/3a 54/88, 12/86dd, -);
c[0] -> adv :: IP6NDAdvertiser(fd00::/64 02:00:00:00:00:0a, fd01::77/128 02:00:00:00:00:0c)
     -> Dump(advertisements.pcap);
c[1] -> [1]nds :: IP6NDSolicitor(fd00::1, 02:00:00:00:00:0a);
c[2] -> Strip(14) -> CheckIP6Header -> GetIP6Address(24) -> [0]nds;
c[3] -> Discard;
nds -> Dump(solicitor.pcap);
