/*
 * virtio-blk feature bits and configuration space (virtio 1.2 §5.2.3, §5.2.4). The config space is little-endian:
 *   0 le64 capacity (512-byte sectors)   8 le32 size_max   12 le32 seg_max   16 geometry {le16 cyl, u8 heads, u8 sectors}
 *   20 le32 blk_size   24 topology {u8 physical_block_exp, u8 alignment_offset, le16 min_io_size, le32 opt_io_size}
 *   32 u8 writeback   34 le16 num_queues   36.. discard / write-zeroes limits (not offered, read as zero)
 */

/** Feature: size_max holds the largest single buffer. */
export const VIRTIO_BLK_F_SIZE_MAX = 1n << 1n;
/** Feature: seg_max holds the most data buffers per request. */
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
/** Feature: the disk is read-only. */
export const VIRTIO_BLK_F_RO = 1n << 5n;
/** Feature: blk_size holds the logical block size. */
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
/** Feature: the device takes FLUSH requests (a volatile write cache the driver must flush). */
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;

/** Bytes per sector: the unit of `sector` and `capacity`, whatever blk_size says. */
export const SECTOR_SIZE = 512;
/** Config offset of capacity (le64). */
export const BLK_CONFIG_CAPACITY = 0;
/** Config offset of size_max (le32). */
export const BLK_CONFIG_SIZE_MAX = 8;
/** Config offset of seg_max (le32). */
export const BLK_CONFIG_SEG_MAX = 12;
/** Config offset of blk_size (le32). */
export const BLK_CONFIG_BLK_SIZE = 20;
/** Config offset of num_queues (le16; meaningful with VIRTIO_BLK_F_MQ only, which is not offered). */
export const BLK_CONFIG_NUM_QUEUES = 34;
/** Bytes of config space exposed (through num_queues and the discard fields that follow, all zero). */
export const BLK_CONFIG_SIZE = 60;

/** Largest single data buffer the driver may hand us (size_max): bounds per-buffer bounce copies. */
export const BLK_SIZE_MAX = 1 << 20;

export interface BlkConfigValues {
  capacitySectors: bigint;
  sizeMax: number;
  segMax: number;
  blkSize: number;
}

/** The config space bytes for these values. */
export function buildBlkConfig(values: BlkConfigValues): Uint8Array {
  const bytes = new Uint8Array(BLK_CONFIG_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(BLK_CONFIG_CAPACITY, values.capacitySectors, true);
  view.setUint32(BLK_CONFIG_SIZE_MAX, values.sizeMax, true);
  view.setUint32(BLK_CONFIG_SEG_MAX, values.segMax, true);
  view.setUint32(BLK_CONFIG_BLK_SIZE, values.blkSize, true);
  view.setUint16(BLK_CONFIG_NUM_QUEUES, 1, true);
  return bytes;
}
