// firewall.click: a stateless firewall for a small office network.
//
// The inside is 10.0.0.0/24 behind the gateway 10.0.0.254. Frames arrive
// from a trace (IN); each verdict has its own dump in OUT and a counter,
// and when the trace ends the DriverManager prints a report.
//
//   mbctl run --simtime firewall.click IN=demo.pcap OUT=/tmp/fw
//
// On a live box, replace FromDump/ToDump with FromDevice/ToDevice.
define($IN demo.pcap, $OUT .);

src   :: FromDump($IN, STOP true);
eth   :: Classifier(12/0800,    // IPv4
                    12/0806,    // ARP
                    -);         // everything else (IPv6, LLDP ...)
chk   :: CheckIPHeader(INTERFACES 10.0.0.254/24, DETAILS true);
rules :: IPFilter(
    allow tcp dst port www or tcp dst port https,       // web, anywhere
    allow udp dst port domain,                          // DNS
    allow icmp type echo or icmp type echo-reply,       // ping
    allow tcp dst port ssh and src net 10.0.0.0/24,     // SSH from inside only
    1     all);                                         // the rest: denied, logged

src -> all :: Counter -> eth;

eth[0] -> Strip(14) -> chk -> rules;
rules[0] -> ttl :: DecIPTTL -> Unstrip(14)
         -> allowed :: Counter -> ToDump($OUT/allowed.pcap);
rules[1] -> Unstrip(14) -> denied :: Counter -> ToDump($OUT/denied.pcap);
ttl[1]   -> Unstrip(14) -> expired :: Counter -> ToDump($OUT/ttl_expired.pcap);
chk[1]   -> Unstrip(14) -> badip :: Counter -> ToDump($OUT/bad_ip.pcap);
eth[1]   -> arp :: Counter -> ToDump($OUT/arp.pcap);
eth[2]   -> other :: Counter -> ToDump($OUT/not_ipv4.pcap);

DriverManager(pause,
  print "firewall report: "$(all.count)" frames from "$(src.filename),
  print "  allowed      "$(allowed.count),
  print "  denied       "$(denied.count),
  print "  bad IP       "$(badip.count),
  print "  TTL expired  "$(expired.count),
  print "  ARP passed   "$(arp.count),
  print "  not IPv4     "$(other.count),
  print "bad IP header details:",
  print chk.drop_details,
  stop);
