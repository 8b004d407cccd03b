#!/usr/bin/env python3
"""embed.py - turn a text file into a C source defining one NUL-terminated
string, so the binary carries it (the OpenAPI document).

usage: embed.py INPUT OUTPUT SYMBOL
"""
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, sym = sys.argv[1:]
    data = open(src, 'rb').read()
    with open(dst, 'w') as out:
        out.write('/* Generated from %s by scripts/embed.py; do not edit. */\n'
                  % src.rsplit('/', 1)[-1])
        out.write('extern const char %s[];\n' % sym)
        out.write('const char %s[] = {\n' % sym)
        for i in range(0, len(data), 16):
            out.write(''.join('%d,' % b for b in data[i:i + 16]) + '\n')
        out.write('0 };\n')


if __name__ == '__main__':
    main()
