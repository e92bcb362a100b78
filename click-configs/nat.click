// nat.click: a NAPT gateway. Inside hosts share the gateway's public
// address: their TCP and UDP flows leave from PUBLIC_IP with ports in
// 1024-65535, their pings with a rewritten ICMP identifier, and replies are
// translated back. Outside hosts need no route to the inside network.
//
//   inside hosts --- INSIDE_DEV [nat] OUTSIDE_DEV --- outside hosts
//     10.1.0.0/24      10.1.0.1     10.2.0.1 (public)   10.2.0.0/24
//
// Outside traffic that matches no mapping is dropped; ICMP errors about a
// mapped flow (e.g. port unreachable) are translated back to the inside
// host. The gateway answers ARP for its two addresses and resolves next
// hops itself; inside hosts route through INSIDE_IP. Its interfaces must
// carry no IP addresses of their own; give them the MACs below (or set
// INSIDE_MAC/OUTSIDE_MAC to theirs). Outside hosts must be on the
// directly attached subnet (there is no routing table).
//
//   sudo mbctl run nat.click INSIDE_DEV=eth1 OUTSIDE_DEV=eth2 -h rw.tcp_table
define($INSIDE_DEV   nat-in,
       $INSIDE_IP    10.1.0.1,
       $INSIDE_LEN   24,
       $INSIDE_MAC   02:00:0a:01:00:01,
       $OUTSIDE_DEV  nat-out,
       $PUBLIC_IP    10.2.0.1,
       $OUTSIDE_LEN  24,
       $OUTSIDE_MAC  02:00:0a:02:00:01);

// Flows from the inside (input 0) get a public source port; replies
// (input 1) follow their mapping or are dropped.
rw   :: IPRewriter(pattern $PUBLIC_IP 1024-65535 - - 0 1, drop);
ping :: ICMPPingRewriter(pattern $PUBLIC_IP 1024-65535 - - 0 1, drop);

// --- inside interface ----------------------------------------------------
in_dev :: FromDevice($INSIDE_DEV);
in_out :: Queue(1024) -> ToDevice($INSIDE_DEV);
in_eth :: Classifier(12/0806 20/0001,       // ARP request
                     12/0806 20/0002,       // ARP reply
                     12/0800,               // IPv4
                     -);                    // anything else
in_arp :: ARPQuerier($INSIDE_IP/$INSIDE_LEN, $INSIDE_MAC) -> in_out;

in_dev -> in_eth;
in_eth[0] -> ARPResponder($INSIDE_IP $INSIDE_MAC) -> in_out;
in_eth[1] -> [1]in_arp;
in_eth[2] -> Strip(14)
          -> CheckIPHeader(INTERFACES $INSIDE_IP/$INSIDE_LEN $PUBLIC_IP/$OUTSIDE_LEN)
          -> in_ttl :: DecIPTTL
          -> in_ip :: IPClassifier(icmp type echo, -);
in_eth[3] -> Discard;
in_ip[0] -> [0]ping;
in_ip[1] -> [0]rw;
in_ttl[1] -> ICMPError($INSIDE_IP, timeexceeded) -> in_arp;

// --- outside interface ---------------------------------------------------
out_dev :: FromDevice($OUTSIDE_DEV);
out_out :: Queue(1024) -> ToDevice($OUTSIDE_DEV);
out_eth :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
out_arp :: ARPQuerier($PUBLIC_IP/$OUTSIDE_LEN, $OUTSIDE_MAC) -> out_out;

out_dev -> out_eth;
out_eth[0] -> ARPResponder($PUBLIC_IP $OUTSIDE_MAC) -> out_out;
out_eth[1] -> [1]out_arp;
out_eth[2] -> Strip(14)
           -> CheckIPHeader(INTERFACES $INSIDE_IP/$INSIDE_LEN $PUBLIC_IP/$OUTSIDE_LEN)
           -> out_ttl :: DecIPTTL
           -> out_ip :: IPClassifier(icmp type echo-reply, -);
out_eth[3] -> Discard;
out_ttl[1] -> ICMPError($PUBLIC_IP, timeexceeded) -> out_arp;
out_ip[0] -> [1]ping;
out_ip[1] -> [1]rw;

// --- translated packets: the next hop is their (new) destination ---------
rw[0]   -> outbound :: Counter -> out_arp;
ping[0] -> outbound;
rw[1]   -> inbound :: Counter -> in_arp;
ping[1] -> inbound;

DriverManager(print "nat ready", pause);
