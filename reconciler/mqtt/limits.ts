// Payload limits, the same at the broker (`canopy broker-config`, the embedded broker) and in
// every part: a larger payload is dropped unread. A whole placement of 10,000 services is
// about 6 MB; the limit leaves room for four times that.
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** An MQTT packet carries a payload, its signed envelope (a few hundred bytes) and the topic. */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;
