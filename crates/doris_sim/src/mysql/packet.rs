//! MySQL packet framing: a 3-byte little-endian length, a 1-byte sequence id, the payload.
//! Payloads of 16 MiB - 1 bytes or more are split into maximal frames followed by a shorter
//! (possibly empty) final frame; the reader reassembles them.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::ProtocolError;

/// Largest payload one frame can carry (2^24 - 1); a frame of exactly this size means "more
/// frames follow".
pub(crate) const MAX_FRAME_PAYLOAD: usize = 0xFF_FF_FF;

/// Largest reassembled client packet accepted. A COM_QUERY bigger than this is refused so one
/// client cannot make the simulator buffer unbounded memory. Doris's own default
/// `max_allowed_packet` is 16 MiB; the margin lets tests send statements just over one frame.
pub(crate) const MAX_CLIENT_PACKET: usize = 64 * 1024 * 1024;

/// Buffered output is written to the socket once it grows past this size, so a large result
/// set streams out instead of being held whole in memory.
const OUTPUT_FLUSH_THRESHOLD: usize = 64 * 1024;

/// One side of a MySQL connection: reads client packets and writes server packets while
/// tracking the shared sequence id.
pub(crate) struct PacketStream<R, W> {
    reader: R,
    writer: W,
    sequence: u8,
    output: Vec<u8>,
}

impl<R, W> PacketStream<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    pub(crate) fn new(reader: R, writer: W) -> Self {
        Self {
            reader,
            writer,
            sequence: 0,
            output: Vec::with_capacity(OUTPUT_FLUSH_THRESHOLD),
        }
    }

    /// Every command starts a new exchange at sequence id 0.
    pub(crate) fn reset_sequence(&mut self) {
        self.sequence = 0;
    }

    /// Reads one logical packet (all of its frames).
    pub(crate) async fn read_packet(&mut self) -> Result<Vec<u8>, ProtocolError> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            self.reader.read_exact(&mut header).await?;
            let frame_len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            let sequence = header[3];
            if sequence != self.sequence {
                return Err(ProtocolError::Sequence {
                    expected: self.sequence,
                    received: sequence,
                });
            }
            self.sequence = self.sequence.wrapping_add(1);
            if payload.len() + frame_len > MAX_CLIENT_PACKET {
                return Err(ProtocolError::PacketTooLarge {
                    limit: MAX_CLIENT_PACKET,
                });
            }
            let start = payload.len();
            payload.resize(start + frame_len, 0);
            self.reader.read_exact(&mut payload[start..]).await?;
            if frame_len < MAX_FRAME_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Queues one logical packet, splitting it into frames as needed.
    pub(crate) async fn write_packet(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut rest = payload;
        loop {
            let frame_len = rest.len().min(MAX_FRAME_PAYLOAD);
            let (frame, tail) = rest.split_at(frame_len);
            // frame_len <= 0xFFFFFF, so the three low bytes hold it exactly.
            let len_bytes = (frame_len as u32).to_le_bytes();
            self.output.extend_from_slice(&len_bytes[..3]);
            self.output.push(self.sequence);
            self.sequence = self.sequence.wrapping_add(1);
            self.output.extend_from_slice(frame);
            if self.output.len() >= OUTPUT_FLUSH_THRESHOLD {
                self.writer.write_all(&self.output).await?;
                self.output.clear();
            }
            rest = tail;
            // A maximal frame must be followed by another frame, empty if nothing is left.
            if frame_len < MAX_FRAME_PAYLOAD {
                return Ok(());
            }
        }
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> Result<(), ProtocolError> {
        if !self.output.is_empty() {
            self.writer.write_all(&self.output).await?;
            self.output.clear();
        }
        self.writer.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(payload: Vec<u8>) -> Vec<u8> {
        let (client, server) = tokio::io::duplex(1024 * 1024);
        let (server_read, server_write) = tokio::io::split(server);
        let (client_read, client_write) = tokio::io::split(client);
        let mut sender = PacketStream::new(server_read, server_write);
        let mut receiver = PacketStream::new(client_read, client_write);
        let writer = tokio::spawn(async move {
            sender.write_packet(&payload).await.unwrap();
            sender.flush().await.unwrap();
            sender
        });
        let received = receiver.read_packet().await.unwrap();
        let sender = writer.await.unwrap();
        assert_eq!(
            sender.sequence, receiver.sequence,
            "both sides agree on the next sequence id"
        );
        received
    }

    #[tokio::test]
    async fn small_packet_round_trips() {
        assert_eq!(round_trip(b"\x03select 1".to_vec()).await, b"\x03select 1");
    }

    #[tokio::test]
    async fn empty_packet_round_trips() {
        assert!(round_trip(Vec::new()).await.is_empty());
    }

    #[tokio::test]
    async fn payload_over_one_frame_is_split_and_reassembled() {
        let payload: Vec<u8> = (0..MAX_FRAME_PAYLOAD + 10)
            .map(|i| (i % 251) as u8)
            .collect();
        let received = round_trip(payload.clone()).await;
        assert_eq!(received.len(), payload.len());
        assert!(received == payload);
    }

    #[tokio::test]
    async fn payload_of_exactly_one_frame_gets_an_empty_trailer() {
        let payload = vec![7u8; MAX_FRAME_PAYLOAD];
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (server_read, server_write) = tokio::io::split(server);
        let mut sender = PacketStream::new(server_read, server_write);
        let reader = tokio::spawn(async move {
            let mut raw = Vec::new();
            let mut client = client;
            client.read_to_end(&mut raw).await.unwrap();
            raw
        });
        sender.write_packet(&payload).await.unwrap();
        sender.flush().await.unwrap();
        drop(sender);
        let raw = reader.await.unwrap();
        assert_eq!(raw.len(), 4 + MAX_FRAME_PAYLOAD + 4);
        assert_eq!(&raw[..4], &[0xFF, 0xFF, 0xFF, 0]);
        assert_eq!(&raw[4 + MAX_FRAME_PAYLOAD..], &[0, 0, 0, 1]);
    }

    #[tokio::test]
    async fn wrong_sequence_id_is_rejected() {
        let (mut client, server) = tokio::io::duplex(1024);
        let (server_read, server_write) = tokio::io::split(server);
        let mut receiver = PacketStream::new(server_read, server_write);
        client.write_all(&[1, 0, 0, 5, 0x0e]).await.unwrap();
        let err = receiver.read_packet().await.unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::Sequence {
                    expected: 0,
                    received: 5
                }
            ),
            "{err}"
        );
    }
}
