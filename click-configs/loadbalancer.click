// loadbalancer.click: a layer-4 load balancer. TCP connections to the
// virtual address VIP:PORT are spread round robin over two backends by
// rewriting their destination; each connection stays on the backend it
// started on, and the backends' replies leave from VIP again. Clients keep
// their own addresses, so the backends route their replies back through
// the balancer (its BACK_IP is their default gateway).
//
//   clients --- FRONT_DEV [lb] BACK_DEV --- backends
//   10.3.0.0/24  10.3.0.1     10.4.0.1     10.4.0.2, 10.4.0.3
//                VIP 10.3.0.100
//
// Other traffic to the VIP, or to ports other than PORT, is dropped. The
// balancer answers ARP for FRONT_IP, VIP and BACK_IP and resolves next hops
// itself. Its interfaces must carry no IP addresses of their own; give them
// the MACs below (or set FRONT_MAC/BACK_MAC to theirs). Clients and
// backends must be on the directly attached subnets.
//
//   sudo mbctl run loadbalancer.click FRONT_DEV=eth1 BACK_DEV=eth2 \
//       BACKEND1=10.4.0.12 BACKEND2=10.4.0.13 -h lb.tcp_table
define($FRONT_DEV  lb-front,
       $FRONT_IP   10.3.0.1,
       $FRONT_LEN  24,
       $FRONT_MAC  02:00:0a:03:00:01,
       $VIP        10.3.0.100,
       $PORT       80,
       $BACK_DEV   lb-back,
       $BACK_IP    10.4.0.1,
       $BACK_LEN   24,
       $BACK_MAC   02:00:0a:04:00:01,
       $BACKEND1   10.4.0.2,
       $BACKEND2   10.4.0.3);

// New connections (input 0) take the next backend in turn; backend replies
// (input 1) follow their mapping or are dropped.
backends :: RoundRobinIPMapper(- - $BACKEND1 - 0 1,
                               - - $BACKEND2 - 0 1);
lb :: IPRewriter(backends, drop);

// --- client side ---------------------------------------------------------
front_dev :: FromDevice($FRONT_DEV);
front_out :: Queue(1024) -> ToDevice($FRONT_DEV);
front_eth :: Classifier(12/0806 20/0001,    // ARP request
                        12/0806 20/0002,    // ARP reply
                        12/0800,            // IPv4
                        -);                 // anything else
front_arp :: ARPQuerier($FRONT_IP/$FRONT_LEN, $FRONT_MAC) -> front_out;

front_dev -> front_eth;
front_eth[0] -> ARPResponder($FRONT_IP $VIP $FRONT_MAC) -> front_out;
front_eth[1] -> [1]front_arp;
front_eth[2] -> Strip(14)
             -> CheckIPHeader(INTERFACES $FRONT_IP/$FRONT_LEN $BACK_IP/$BACK_LEN)
             -> service :: IPClassifier(dst host $VIP and tcp dst port $PORT, -);
front_eth[3] -> Discard;
service[0] -> to_service :: Counter -> [0]lb;
service[1] -> refused :: Counter -> Discard;

// --- backend side --------------------------------------------------------
back_dev :: FromDevice($BACK_DEV);
back_out :: Queue(1024) -> ToDevice($BACK_DEV);
back_eth :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
back_arp :: ARPQuerier($BACK_IP/$BACK_LEN, $BACK_MAC) -> back_out;

back_dev -> back_eth;
back_eth[0] -> ARPResponder($BACK_IP $BACK_MAC) -> back_out;
back_eth[1] -> [1]back_arp;
back_eth[2] -> Strip(14)
            -> CheckIPHeader(INTERFACES $FRONT_IP/$FRONT_LEN $BACK_IP/$BACK_LEN)
            -> [1]lb;
back_eth[3] -> Discard;

// --- rewritten packets: the next hop is their new destination ------------
lb[0] -> DecIPTTL -> back_arp;
lb[1] -> DecIPTTL -> front_arp;

DriverManager(print "loadbalancer ready", pause);
