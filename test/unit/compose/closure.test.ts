import { describe, expect, it } from 'vitest';
import { parseRegistration } from '../../../electron/pipeline/compose/closure.ts';

// As nix-store --dump-db prints it: path, hash, size, deriver (maybe empty), count, references.
const DUMP = `/nix/store/11dq3rl6iiksyv587rdhlzc44g76wq0d-params
b41414953fecad5a2ec73b8ec38539fd5a4be1509095fe7b3a7fdd073e1e4637
128

0
/nix/store/vs8msjdyc83cx343x1g3mkaj2l9448ll-link
72fcc49826f8b27e39bd286fc17abc031cf79fe5cd0b03c5632edf83f4496d5f
168
/nix/store/h5kk2p5azvlapmsqbrfxmd78f3hcc055-link.drv
2
/nix/store/3ap9byj3ap806z6snbf6p0005n359j2s-hello
/nix/store/vs8msjdyc83cx343x1g3mkaj2l9448ll-link
`;

describe('the Nix registration', () => {
  it('reads paths, hashes, sizes, derivers and references', () => {
    expect(parseRegistration(DUMP)).toEqual([
      {
        path: '/nix/store/11dq3rl6iiksyv587rdhlzc44g76wq0d-params',
        narHash: 'b41414953fecad5a2ec73b8ec38539fd5a4be1509095fe7b3a7fdd073e1e4637',
        narSize: 128,
        deriver: '',
        references: [],
      },
      {
        path: '/nix/store/vs8msjdyc83cx343x1g3mkaj2l9448ll-link',
        narHash: '72fcc49826f8b27e39bd286fc17abc031cf79fe5cd0b03c5632edf83f4496d5f',
        narSize: 168,
        deriver: '/nix/store/h5kk2p5azvlapmsqbrfxmd78f3hcc055-link.drv',
        references: [
          '/nix/store/3ap9byj3ap806z6snbf6p0005n359j2s-hello',
          '/nix/store/vs8msjdyc83cx343x1g3mkaj2l9448ll-link',
        ],
      },
    ]);
  });

  it('says so when the text is cut short or is something else', () => {
    expect(() => parseRegistration(DUMP.split('\n').slice(0, 7).join('\n'))).toThrow(/ends early/);
    expect(() => parseRegistration('hello\nworld\nx\n\n1\n/nix/store/a\n')).toThrow(/not in the format/);
  });
});
