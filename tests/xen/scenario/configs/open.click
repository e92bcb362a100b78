// Everything passes both ways, counted.
FromDevice(0) -> fwd :: Counter -> Queue(512) -> ToDevice(1);
FromDevice(1) -> rev :: Counter -> Queue(512) -> ToDevice(0);
