/* version.h — the version of icsrange, one definition for every module. */
#ifndef CORE_VERSION_H
#define CORE_VERSION_H

#define ICSRANGE_VERSION "0.1.0"

#endif
