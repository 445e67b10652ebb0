import { describe, expect, it } from 'vitest';
import { bigDataFileName } from '../../src/store/bigdata.js';
import { containerCodec, imageCodec, layerCodec } from '../../src/store/codec.js';
import { ErrCorruptStore } from '../../src/store/errors.js';
import { goJSON, goQuote, goTime } from '../../src/store/go-json.js';
import { is } from '../../src/errors.js';

// Written by Debian's containers-storage 1.43 (vfs), byte for byte.
const goLayers =
  '[{"id":"f5fc9e20dc6dfe44116dabc047d6afdc6ae0a8e3753e0a61799fdf682331651b","names":["base"],"created":"2026-11-23T17:23:44.052533811Z"},' +
  '{"id":"749f33a1dac26d4d39a92158620baf19e60cd1972e5c489d4424a442d70231de","names":["l1"],"parent":"f5fc9e20dc6dfe44116dabc047d6afdc6ae0a8e3753e0a61799fdf682331651b","created":"2026-11-23T17:23:46.824157932Z","compressed-diff-digest":"sha256:9ea02c73caf94e993dbd9f227462c26db7d31407d5436ea55525de56a42a61c3","compressed-size":186,"diff-digest":"sha256:d2e61b0d1bc65c4762a5ba69e76953f89e0d5bd06d8eaf41f11cac5a44185ce7","diff-size":10240,"compression":2,"uidset":[0,1000],"gidset":[0,1001]}]';
const goImages =
  '[{"id":"a508d87a283639c6227ea72ec14e6f8d2f50cc1152d718eaaeeecc8bb8a22523","names":["img1"],"layer":"749f33a1dac26d4d39a92158620baf19e60cd1972e5c489d4424a442d70231de","metadata":"meta1","created":"2026-11-23T17:23:46.850934857Z"}]';
const goContainers =
  '[{"id":"f6b6a07fb0c0de45a81f447cc82d78cd5df2d3c06e82e979dc19b4183163dfc3","names":["c1"],"image":"a508d87a283639c6227ea72ec14e6f8d2f50cc1152d718eaaeeecc8bb8a22523","layer":"4b671d53fd3f85c1cffd64a9393cac2aa2cded175ad919ebe2c3c5e7a05f368b","created":"2026-11-23T17:23:46.871449167Z","flags":{"MountLabel":"","ProcessLabel":""}}]';

function roundTrip(text: string, codec: typeof layerCodec | typeof imageCodec | typeof containerCodec): string {
  const parsed = (JSON.parse(text) as unknown[]).map((raw, i) => codec.decode(raw, 'x.json', i));
  return goJSON(parsed.map(({ rec, extra }) => (codec.encode as (r: unknown, e: unknown) => object)(rec, extra)));
}

describe('record codec', () => {
  it('rewrites containers/storage files byte for byte', () => {
    expect(roundTrip(goLayers, layerCodec)).toBe(goLayers);
    expect(roundTrip(goImages, imageCodec)).toBe(goImages);
    expect(roundTrip(goContainers, containerCodec)).toBe(goContainers);
  });

  it('maps Go field names to typed fields', () => {
    const { rec } = layerCodec.decode((JSON.parse(goLayers) as unknown[])[1], 'layers.json', 1);
    expect(rec.parent).toBe('f5fc9e20dc6dfe44116dabc047d6afdc6ae0a8e3753e0a61799fdf682331651b');
    expect(rec.compressionType).toBe(2);
    expect(rec.uidSet).toEqual([0, 1000]);
    expect(rec.uncompressedSize).toBe(10240);
    expect(rec.bigDataNames).toEqual([]);
  });

  it('keeps fields it does not know, in place after the known ones', () => {
    const raw = { id: 'abc', 'future-field': { x: 1 }, names: ['n'] };
    const { rec, extra } = layerCodec.decode(raw, 'layers.json', 0);
    expect(goJSON(layerCodec.encode(rec, extra))).toBe(
      '{"id":"abc","names":["n"],"created":"0001-01-01T00:00:00Z","future-field":{"x":1}}',
    );
  });

  it('rejects wrongly typed fields, naming the file, entry and field', () => {
    let err: unknown;
    try {
      layerCodec.decode({ id: 'abc', names: 'oops' }, '/g/vfs-layers/layers.json', 3);
    } catch (e) {
      err = e;
    }
    expect(is(err, ErrCorruptStore)).toBe(true);
    expect((err as Error).message).toContain('/g/vfs-layers/layers.json: entry 3 field "names"');
  });

  it('writes ID maps and flags as Go does (sorted keys, snake_case maps)', () => {
    const { rec } = containerCodec.decode({ id: 'c', image: '', layer: 'l' }, 'c.json', 0);
    rec.flags = { b: 1, a: true };
    rec.uidMap = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(goJSON(containerCodec.encode(rec))).toBe(
      '{"id":"c","image":"","layer":"l","created":"0001-01-01T00:00:00Z","uidmap":[{"container_id":0,"host_id":1000,"size":1}],"flags":{"a":true,"b":1}}',
    );
  });
});

describe('Go text forms', () => {
  it('escapes HTML characters in JSON as encoding/json does', () => {
    expect(goJSON({ m: '<a&b>' })).toBe('{"m":"\\u003ca\\u0026b\\u003e"}');
  });

  it('formats times as RFC 3339 with trailing zeros trimmed', () => {
    expect(goTime(new Date('2024-01-02T03:04:05.120Z'))).toBe('2024-01-02T03:04:05.12Z');
    expect(goTime(new Date('2024-01-02T03:04:05.000Z'))).toBe('2024-01-02T03:04:05Z');
    expect(goTime(new Date('2024-01-02T03:04:05.000Z'), 1500)).toBe('2024-01-02T03:04:05.0000015Z');
  });

  it('quotes like strconv.Quote', () => {
    expect(goQuote('/etc/motd')).toBe('"/etc/motd"');
    expect(goQuote('a "b"\n\t\\')).toBe('"a \\"b\\"\\n\\t\\\\"');
    expect(goQuote('\x01é')).toBe('"\\x01é"');
  });
});

describe('big data file names', () => {
  it('uses the key when it is only [.0-9a-z], else = and base64', () => {
    expect(bigDataFileName('manifest')).toBe('manifest');
    expect(bigDataFileName('config.json')).toBe('config.json');
    expect(bigDataFileName('Manifest')).toBe(`=${Buffer.from('Manifest').toString('base64')}`);
    expect(bigDataFileName('sha256:abc')).toBe('=c2hhMjU2OmFiYw==');
  });
});
