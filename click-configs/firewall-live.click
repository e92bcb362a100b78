// firewall-live.click: a stateless routing firewall between an inside and
// an outside subnet, on two live interfaces (the same policy as the
// trace-driven demo in firewall.click, with the replies let back in).
//
//   inside hosts --- INSIDE_DEV [firewall] OUTSIDE_DEV --- outside hosts
//     10.1.0.0/24      10.1.0.1       10.2.0.1          10.2.0.0/24
//
// Outbound (inside -> outside): web (80, 443), DNS, ping, SSH.
// Inbound (outside -> inside): only replies: TCP from those ports that is
// not a bare SYN, DNS answers, echo replies, and ICMP errors.
// Everything else is rejected with an ICMP "administratively prohibited"
// unreachable sent back to its source, and counted (deny_out, deny_in).
//
// The firewall answers ARP for its two addresses and resolves the hosts'
// addresses itself, so hosts need only a default route through it. Its
// interfaces must carry no IP addresses of their own; give them the MACs
// below (or set INSIDE_MAC/OUTSIDE_MAC to theirs). Hosts on either side
// must be on the directly attached subnet (there is no routing table).
//
//   sudo mbctl run firewall-live.click INSIDE_DEV=eth1 OUTSIDE_DEV=eth2 \
//       -h deny_out.count -h deny_in.count
define($INSIDE_DEV   fw-in,
       $INSIDE_IP    10.1.0.1,
       $INSIDE_LEN   24,
       $INSIDE_MAC   02:00:0a:01:00:01,
       $OUTSIDE_DEV  fw-out,
       $OUTSIDE_IP   10.2.0.1,
       $OUTSIDE_LEN  24,
       $OUTSIDE_MAC  02:00:0a:02:00:01);

// --- inside interface ----------------------------------------------------
in_dev  :: FromDevice($INSIDE_DEV);
in_out  :: Queue(1024) -> ToDevice($INSIDE_DEV);
in_eth  :: Classifier(12/0806 20/0001,      // ARP request
                      12/0806 20/0002,      // ARP reply
                      12/0800,              // IPv4
                      -);                   // anything else
in_arp  :: ARPQuerier($INSIDE_IP/$INSIDE_LEN, $INSIDE_MAC) -> in_out;

in_dev -> in_eth;
in_eth[0] -> ARPResponder($INSIDE_IP $INSIDE_MAC) -> in_out;
in_eth[1] -> [1]in_arp;
in_eth[2] -> Strip(14)
          -> CheckIPHeader(INTERFACES $INSIDE_IP/$INSIDE_LEN $OUTSIDE_IP/$OUTSIDE_LEN)
          -> out_rules :: IPFilter(
                 allow tcp dst port www or https or ssh,
                 allow udp dst port domain,
                 allow icmp type echo,
                 1     all);
in_eth[3] -> Discard;

// --- outside interface ---------------------------------------------------
out_dev :: FromDevice($OUTSIDE_DEV);
out_out :: Queue(1024) -> ToDevice($OUTSIDE_DEV);
out_eth :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
out_arp :: ARPQuerier($OUTSIDE_IP/$OUTSIDE_LEN, $OUTSIDE_MAC) -> out_out;

out_dev -> out_eth;
out_eth[0] -> ARPResponder($OUTSIDE_IP $OUTSIDE_MAC) -> out_out;
out_eth[1] -> [1]out_arp;
out_eth[2] -> Strip(14)
           -> CheckIPHeader(INTERFACES $INSIDE_IP/$INSIDE_LEN $OUTSIDE_IP/$OUTSIDE_LEN)
           -> in_rules :: IPFilter(
                  allow tcp src port www or https or ssh and not (tcp opt syn and not tcp opt ack),
                  allow udp src port domain,
                  allow icmp type echo-reply,
                  allow icmp type unreachable or timeexceeded,
                  1     all);
out_eth[3] -> Discard;

// --- forwarding: TTL, then the next hop is the destination ---------------
out_rules[0] -> out_ttl :: DecIPTTL -> pass_out :: Counter -> out_arp;
in_rules[0]  -> in_ttl  :: DecIPTTL -> pass_in  :: Counter -> in_arp;

// --- rejects and expired TTLs go back where they came from ---------------
out_rules[1] -> deny_out :: Counter
             -> ICMPError($INSIDE_IP, unreachable, filterprohibited) -> in_arp;
in_rules[1]  -> deny_in :: Counter
             -> ICMPError($OUTSIDE_IP, unreachable, filterprohibited) -> out_arp;
out_ttl[1] -> ICMPError($INSIDE_IP, timeexceeded) -> in_arp;
in_ttl[1]  -> ICMPError($OUTSIDE_IP, timeexceeded) -> out_arp;

DriverManager(print "firewall ready", pause);
